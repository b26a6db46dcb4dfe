// moe_hdf5.h: a small C surface over libhdf5 for Swift (which cannot see HDF5's macro constants).
#ifndef MOE_HDF5_H
#define MOE_HDF5_H

#include <stddef.h>
#include <stdint.h>

/// Element types, numpy-like. Reads convert to (and writes store) these little-endian types.
enum {
  MOE_H5_F2 = 1, ///< IEEE half, as h5py writes float16
  MOE_H5_F4,
  MOE_H5_F8,
  MOE_H5_I1,
  MOE_H5_I2,
  MOE_H5_I4,
  MOE_H5_I8,
  MOE_H5_U1,
  MOE_H5_U2,
  MOE_H5_U4,
  MOE_H5_U8,
  MOE_H5_BOOL ///< h5py's bool: an enum over int8 with FALSE = 0, TRUE = 1
};

/// Dataspace kinds.
enum {
  MOE_H5_SPACE_SCALAR = 0, ///< one element, shape ()
  MOE_H5_SPACE_SIMPLE = 1, ///< an n-dimensional array
  MOE_H5_SPACE_NULL = 2,   ///< no data at all (h5py.Empty; Chainer's None parameter)
  MOE_H5_SPACE_OTHER = 3
};

/// Datatype classes (HDF5's H5T_class_t order, which is part of its file format).
enum {
  MOE_H5_CLASS_INTEGER = 0,
  MOE_H5_CLASS_FLOAT = 1,
  MOE_H5_CLASS_TIME = 2,
  MOE_H5_CLASS_STRING = 3,
  MOE_H5_CLASS_BITFIELD = 4,
  MOE_H5_CLASS_OPAQUE = 5,
  MOE_H5_CLASS_COMPOUND = 6,
  MOE_H5_CLASS_REFERENCE = 7,
  MOE_H5_CLASS_ENUM = 8,
  MOE_H5_CLASS_VLEN = 9,
  MOE_H5_CLASS_ARRAY = 10
};

/// The most dimensions an HDF5 dataspace can have (H5S_MAX_RANK).
#define MOE_H5_MAX_RANK 32

/// What a dataset holds, as read from its dataspace and datatype.
typedef struct {
  int space;                         ///< MOE_H5_SPACE_*
  int rank;                          ///< 0 for scalar and null dataspaces
  uint64_t dims[MOE_H5_MAX_RANK];    ///< the first `rank` are valid
  int type_class;                    ///< MOE_H5_CLASS_*, or -1 if unknown
  size_t size;                       ///< bytes per element in the file
  int big_endian;                    ///< 1 if integer/float data is stored big-endian
  int is_signed;                     ///< 1 for two's-complement integers
  int is_bool;                       ///< 1 for h5py's bool enum
} moe_h5_info;

/// Silences HDF5's automatic error printing (idempotent). Call before any other function.
void moe_h5_init(void);

/// A one-line description of the last failure of a moe_h5_* call ("" if none).
const char *moe_h5_last_error(void);

/// Opens an existing file read-only; returns a file id, or a negative value on failure.
int64_t moe_h5_open(const char *path);

/// Creates (truncates) a file with the default, widely readable format; returns a file id or < 0.
int64_t moe_h5_create(const char *path);

/// Closes a file id from moe_h5_open / moe_h5_create; 0 on success.
int moe_h5_close(int64_t file);

/// Every dataset reachable by hard links, as NUL-terminated paths relative to the root group
/// ("res/0/c1/W") packed one after the other into a malloc'ed buffer of `*length` bytes (free
/// with moe_h5_free); 0 on success.
int moe_h5_list_datasets(int64_t file, char **paths, size_t *length);

/// Frees a buffer returned by this shim.
void moe_h5_free(void *pointer);

/// Describes the dataset at `path`; 0 on success.
int moe_h5_dataset_info(int64_t file, const char *path, moe_h5_info *info);

/// Reads the whole dataset at `path`, converted to `dtype` (MOE_H5_*), into `buffer` of exactly
/// `length` bytes (element count times element size); 0 on success.
int moe_h5_read(int64_t file, const char *path, int dtype, void *buffer, size_t length);

/// Creates the group at `path` and any missing parents; 0 on success.
int moe_h5_create_group(int64_t file, const char *path);

/// Writes a dataset at `path` (creating missing parent groups) from little-endian `data`.
/// `rank` -1 makes an empty (null dataspace) dataset and ignores `dims` and `data`; rank 0 is a
/// scalar. `gzip_level` 0...9 compresses arrays of more than one element (chunked), -1 does not.
int moe_h5_write(int64_t file, const char *path, int dtype, int rank, const uint64_t *dims, const void *data,
                 int gzip_level);

#endif
