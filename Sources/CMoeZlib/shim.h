// CMoeZlib: the system zlib (Debian: zlib1g-dev) for MoeQuant's deflate/inflate.
#include <zlib.h>
