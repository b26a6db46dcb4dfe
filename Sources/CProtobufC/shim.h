// CProtobufC: the protobuf-c runtime (Debian: libprotobuf-c-dev, pkg-config `libprotobuf-c`, links -lprotobuf-c).
#include <protobuf-c/protobuf-c.h>
