// CJPEG: the system libjpeg-turbo (Debian: libjpeg62-turbo-dev, found through pkg-config `libjpeg`).
#include <stddef.h>
#include <stdio.h>
#include <jpeglib.h>
