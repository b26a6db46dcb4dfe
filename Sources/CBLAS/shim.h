// CBLAS: OpenBLAS's C interface (Debian: libopenblas-dev, found through pkg-config `openblas`).
#include <cblas.h>
// OpenBLAS extension: number of threads used by level-3 BLAS.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
