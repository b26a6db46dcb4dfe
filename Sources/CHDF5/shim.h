// CHDF5: the HDF5 C library (Debian: libhdf5-dev, found through pkg-config `hdf5`, which links -lhdf5).
#include <hdf5.h>
