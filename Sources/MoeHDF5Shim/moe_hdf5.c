// moe_hdf5.c: libhdf5 calls behind moe_hdf5.h; every failure records a one-line message.
#include "moe_hdf5.h"

#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(H5T_INTEGER == MOE_H5_CLASS_INTEGER && H5T_ENUM == MOE_H5_CLASS_ENUM &&
                   H5T_ARRAY == MOE_H5_CLASS_ARRAY,
               "H5T_class_t order");
_Static_assert(H5S_MAX_RANK == MOE_H5_MAX_RANK, "H5S_MAX_RANK");

static char last_error[1024];

// MARK: - Errors

typedef struct {
  char inner[400];
  char outer[400];
} walk_state;

static void copy_line(char *destination, size_t capacity, const char *source) {
  size_t i = 0;
  for (; source && source[i] && i + 1 < capacity; i++) {
    destination[i] = (source[i] == '\n' || source[i] == '\r') ? ' ' : source[i];
  }
  destination[i] = 0;
}

static herr_t walk_error(unsigned n, const H5E_error2_t *error, void *data) {
  (void)n;
  walk_state *state = data;
  if (!error->desc || !error->desc[0]) return 0;
  // The innermost error says what was detected; plugin-path search failures only explain why a
  // filter is missing, which the next frame out already says.
  if (!state->inner[0] && error->maj_num != H5E_PLUGIN) copy_line(state->inner, sizeof state->inner, error->desc);
  copy_line(state->outer, sizeof state->outer, error->desc);
  return 0;
}

/// Records `what` plus the outermost and innermost messages on HDF5's error stack.
static void fail(const char *what) {
  walk_state state = {{0}, {0}};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_error, &state);
  if (!state.inner[0]) {
    snprintf(last_error, sizeof last_error, "%s", what);
  } else if (strcmp(state.inner, state.outer) == 0) {
    snprintf(last_error, sizeof last_error, "%s (%s)", what, state.inner);
  } else {
    snprintf(last_error, sizeof last_error, "%s (%s: %s)", what, state.outer, state.inner);
  }
}

void moe_h5_init(void) {
  static int done = 0;
  if (done) return;
  H5open();
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  done = 1;
}

const char *moe_h5_last_error(void) { return last_error; }

// MARK: - Types

/// A new datatype id for `dtype` (little-endian), or -1. The caller closes it.
static hid_t make_type(int dtype) {
  hid_t type = -1;
  switch (dtype) {
  case MOE_H5_F2:
    // h5py's float16: IEEE binary16 derived from float32, as in h5py/h5t.pyx.
    type = H5Tcopy(H5T_IEEE_F32LE);
    if (type >= 0 && (H5Tset_fields(type, 15, 10, 5, 0, 10) < 0 || H5Tset_size(type, 2) < 0 ||
                      H5Tset_ebias(type, 15) < 0)) {
      H5Tclose(type);
      type = -1;
    }
    break;
  case MOE_H5_F4: type = H5Tcopy(H5T_IEEE_F32LE); break;
  case MOE_H5_F8: type = H5Tcopy(H5T_IEEE_F64LE); break;
  case MOE_H5_I1: type = H5Tcopy(H5T_STD_I8LE); break;
  case MOE_H5_I2: type = H5Tcopy(H5T_STD_I16LE); break;
  case MOE_H5_I4: type = H5Tcopy(H5T_STD_I32LE); break;
  case MOE_H5_I8: type = H5Tcopy(H5T_STD_I64LE); break;
  case MOE_H5_U1: type = H5Tcopy(H5T_STD_U8LE); break;
  case MOE_H5_U2: type = H5Tcopy(H5T_STD_U16LE); break;
  case MOE_H5_U4: type = H5Tcopy(H5T_STD_U32LE); break;
  case MOE_H5_U8: type = H5Tcopy(H5T_STD_U64LE); break;
  case MOE_H5_BOOL: {
    // h5py's bool: enum over int8 {FALSE = 0, TRUE = 1}.
    signed char no = 0, yes = 1;
    type = H5Tenum_create(H5T_STD_I8LE);
    if (type >= 0 && (H5Tenum_insert(type, "FALSE", &no) < 0 || H5Tenum_insert(type, "TRUE", &yes) < 0)) {
      H5Tclose(type);
      type = -1;
    }
    break;
  }
  default: snprintf(last_error, sizeof last_error, "unknown element type code %d", dtype); return -1;
  }
  if (type < 0) fail("cannot make the element type");
  return type;
}

/// 1 if `type` is h5py's bool enum (two members over a 1-byte integer: FALSE = 0, TRUE = 1).
static int is_bool_enum(hid_t type) {
  if (H5Tget_nmembers(type) != 2) return 0;
  hid_t base = H5Tget_super(type);
  if (base < 0) return 0;
  int ok = H5Tget_class(base) == H5T_INTEGER && H5Tget_size(base) == 1;
  H5Tclose(base);
  for (unsigned i = 0; ok && i < 2; i++) {
    char *name = H5Tget_member_name(type, i);
    signed char value = -1;
    ok = name && H5Tget_member_value(type, i, &value) >= 0 &&
         ((strcmp(name, "FALSE") == 0 && value == 0) || (strcmp(name, "TRUE") == 0 && value == 1));
    if (name) H5free_memory(name);
  }
  return ok;
}

// MARK: - Files

static hid_t file_access(void) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
  // Keep HDF5's file locking, but do not fail on file systems without it.
  if (fapl >= 0) H5Pset_file_locking(fapl, 1, 1);
#endif
  return fapl;
}

int64_t moe_h5_open(const char *path) {
  hid_t fapl = file_access();
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, fapl < 0 ? H5P_DEFAULT : fapl);
  if (file < 0) fail("cannot open the HDF5 file");
  if (fapl >= 0) H5Pclose(fapl);
  return file;
}

int64_t moe_h5_create(const char *path) {
  hid_t fapl = file_access();
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl < 0 ? H5P_DEFAULT : fapl);
  if (file < 0) fail("cannot create the HDF5 file");
  if (fapl >= 0) H5Pclose(fapl);
  return file;
}

int moe_h5_close(int64_t file) {
  if (H5Fclose(file) < 0) {
    fail("cannot close the HDF5 file");
    return -1;
  }
  return 0;
}

void moe_h5_free(void *pointer) { free(pointer); }

// MARK: - Listing

typedef struct {
  char *buffer;
  size_t length, capacity;
  int failed;
} path_list;

static herr_t visit_object(hid_t object, const char *name, const H5O_info_t *info, void *data) {
  (void)object;
  path_list *list = data;
  if (info->type != H5O_TYPE_DATASET) return 0;
  size_t size = strlen(name) + 1;
  if (list->length + size > list->capacity) {
    size_t capacity = (list->capacity + size) * 2;
    char *grown = realloc(list->buffer, capacity);
    if (!grown) {
      list->failed = 1;
      return -1;
    }
    list->buffer = grown;
    list->capacity = capacity;
  }
  memcpy(list->buffer + list->length, name, size);
  list->length += size;
  return 0;
}

int moe_h5_list_datasets(int64_t file, char **paths, size_t *length) {
  path_list list = {NULL, 0, 0, 0};
  *paths = NULL;
  *length = 0;
  if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, visit_object, &list, H5O_INFO_BASIC) < 0) {
    if (list.failed) {
      snprintf(last_error, sizeof last_error, "out of memory listing datasets");
    } else {
      fail("cannot list the datasets");
    }
    free(list.buffer);
    return -1;
  }
  *paths = list.buffer;
  *length = list.length;
  return 0;
}

// MARK: - Reading

int moe_h5_dataset_info(int64_t file, const char *path, moe_h5_info *info) {
  memset(info, 0, sizeof *info);
  info->type_class = -1;
  int status = -1;
  hid_t dataset = H5Dopen2(file, path, H5P_DEFAULT), space = -1, type = -1;
  if (dataset < 0) {
    fail("cannot open the dataset");
    return -1;
  }
  if ((space = H5Dget_space(dataset)) < 0) {
    fail("cannot read the dataspace");
    goto done;
  }
  switch (H5Sget_simple_extent_type(space)) {
  case H5S_SCALAR: info->space = MOE_H5_SPACE_SCALAR; break;
  case H5S_SIMPLE: info->space = MOE_H5_SPACE_SIMPLE; break;
  case H5S_NULL: info->space = MOE_H5_SPACE_NULL; break;
  default: info->space = MOE_H5_SPACE_OTHER; break;
  }
  if (info->space == MOE_H5_SPACE_SIMPLE) {
    hsize_t dims[H5S_MAX_RANK];
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0 || rank > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) != rank) {
      fail("cannot read the dataspace dimensions");
      goto done;
    }
    info->rank = rank;
    for (int i = 0; i < rank; i++) info->dims[i] = dims[i];
  }
  if ((type = H5Dget_type(dataset)) < 0) {
    fail("cannot read the datatype");
    goto done;
  }
  H5T_class_t type_class = H5Tget_class(type);
  info->type_class = type_class;
  info->size = H5Tget_size(type);
  if (type_class == H5T_INTEGER || type_class == H5T_FLOAT) info->big_endian = H5Tget_order(type) == H5T_ORDER_BE;
  if (type_class == H5T_INTEGER) info->is_signed = H5Tget_sign(type) == H5T_SGN_2;
  if (type_class == H5T_ENUM) info->is_bool = is_bool_enum(type);
  status = 0;
done:
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Dclose(dataset);
  return status;
}

int moe_h5_read(int64_t file, const char *path, int dtype, void *buffer, size_t length) {
  int status = -1;
  hid_t memory = make_type(dtype), dataset = -1, space = -1;
  if (memory < 0) return -1;
  if ((dataset = H5Dopen2(file, path, H5P_DEFAULT)) < 0) {
    fail("cannot open the dataset");
    goto done;
  }
  if ((space = H5Dget_space(dataset)) < 0) {
    fail("cannot read the dataspace");
    goto done;
  }
  if (H5Sget_simple_extent_type(space) == H5S_NULL) {
    snprintf(last_error, sizeof last_error, "empty dataset (null dataspace)");
    goto done;
  }
  hssize_t points = H5Sget_simple_extent_npoints(space);
  size_t element = H5Tget_size(memory);
  if (points < 0 || element == 0 || (size_t)points > length / element || (size_t)points * element != length) {
    snprintf(last_error, sizeof last_error, "dataset has %lld elements of %zu bytes; the buffer holds %zu bytes",
             (long long)points, element, length);
    goto done;
  }
  if (length > 0 && H5Dread(dataset, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) < 0) {
    fail("cannot read the data");
    goto done;
  }
  status = 0;
done:
  if (space >= 0) H5Sclose(space);
  if (dataset >= 0) H5Dclose(dataset);
  H5Tclose(memory);
  return status;
}

// MARK: - Writing

int moe_h5_create_group(int64_t file, const char *path) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  if (lcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
    fail("cannot make link properties");
    if (lcpl >= 0) H5Pclose(lcpl);
    return -1;
  }
  hid_t group = H5Gcreate2(file, path, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  H5Pclose(lcpl);
  if (group < 0) {
    fail("cannot create the group");
    return -1;
  }
  H5Gclose(group);
  return 0;
}

/// Chunk dimensions for compression: the whole array, halving its largest dimension until a
/// chunk is at most 1 MiB.
static void choose_chunk(int rank, const hsize_t *dims, size_t element, hsize_t *chunk) {
  for (int i = 0; i < rank; i++) chunk[i] = dims[i];
  for (;;) {
    double bytes = (double)element;
    int largest = 0;
    for (int i = 0; i < rank; i++) {
      bytes *= (double)chunk[i];
      if (chunk[i] > chunk[largest]) largest = i;
    }
    if (bytes <= 1048576.0 || chunk[largest] <= 1) return;
    chunk[largest] = (chunk[largest] + 1) / 2;
  }
}

int moe_h5_write(int64_t file, const char *path, int dtype, int rank, const uint64_t *dims, const void *data,
                 int gzip_level) {
  if (rank < -1 || rank > H5S_MAX_RANK) {
    snprintf(last_error, sizeof last_error, "rank %d; expected -1 (empty) to %d", rank, H5S_MAX_RANK);
    return -1;
  }
  int status = -1;
  hid_t type = make_type(dtype), space = -1, lcpl = -1, dcpl = -1, dataset = -1;
  hsize_t shape[H5S_MAX_RANK], chunk[H5S_MAX_RANK];
  double points = 1;
  if (type < 0) return -1;
  for (int i = 0; i < rank; i++) {
    shape[i] = dims[i];
    points *= (double)dims[i];
  }
  space = rank < 0 ? H5Screate(H5S_NULL) : rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, shape, NULL);
  if (space < 0) {
    fail("cannot make the dataspace");
    goto done;
  }
  lcpl = H5Pcreate(H5P_LINK_CREATE);
  dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (lcpl < 0 || dcpl < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0) {
    fail("cannot make creation properties");
    goto done;
  }
  if (gzip_level >= 0 && rank > 0 && points > 1) {
    choose_chunk(rank, shape, H5Tget_size(type), chunk);
    if (H5Pset_chunk(dcpl, rank, chunk) < 0 || H5Pset_deflate(dcpl, (unsigned)gzip_level) < 0) {
      fail("cannot set up gzip compression");
      goto done;
    }
  }
  if ((dataset = H5Dcreate2(file, path, type, space, lcpl, dcpl, H5P_DEFAULT)) < 0) {
    fail("cannot create the dataset");
    goto done;
  }
  if (rank >= 0 && points > 0 && H5Dwrite(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    fail("cannot write the data");
    goto done;
  }
  status = 0;
done:
  if (dataset >= 0) H5Dclose(dataset);
  if (dcpl >= 0) H5Pclose(dcpl);
  if (lcpl >= 0) H5Pclose(lcpl);
  if (space >= 0) H5Sclose(space);
  H5Tclose(type);
  return status;
}
