// CPNG: the system libpng 1.6 (Debian: libpng-dev, found through pkg-config `libpng`).
#include <png.h>
