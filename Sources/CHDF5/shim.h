#ifndef KERAS_INSPECT_CHDF5_SHIM_H
#define KERAS_INSPECT_CHDF5_SHIM_H

#include <hdf5.h>

// libhdf5 exposes its predefined types and flags as macros that expand to global
// variables behind H5open(); Swift cannot import those, so they are re-exported here.

static inline hid_t chdf5_p_default(void) { return H5P_DEFAULT; }
static inline unsigned chdf5_f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline hid_t chdf5_s_all(void) { return H5S_ALL; }
static inline hid_t chdf5_e_default(void) { return H5E_DEFAULT; }
static inline hid_t chdf5_p_file_access(void) { return H5P_FILE_ACCESS; }

static inline hid_t chdf5_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t chdf5_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t chdf5_native_uint64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t chdf5_native_uint16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t chdf5_c_s1(void) { return H5T_C_S1; }
static inline size_t chdf5_variable(void) { return H5T_VARIABLE; }

// A file image lent to libhdf5 without copies. By default H5Pset_file_image copies the image
// into the property list, and the core driver copies it again when the file opens. These
// callbacks hand every request the caller's buffer instead (the technique of H5LT's
// H5LT_FILE_IMAGE_DONT_COPY), for a read-only file whose buffer outlives it.
typedef struct {
  void *buffer;
  size_t size;
} chdf5_lent_image;

static inline void *chdf5_lent_malloc(size_t size, H5FD_file_image_op_t op, void *udata) {
  (void)op;
  chdf5_lent_image *image = (chdf5_lent_image *)udata;
  return size == image->size ? image->buffer : NULL;
}

static inline void *chdf5_lent_memcpy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op, void *udata) {
  (void)op;
  (void)udata;
  // Source and destination are the same lent buffer; anything else is refused.
  return dest == src || size == 0 ? dest : NULL;
}

static inline void *chdf5_lent_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *udata) {
  (void)ptr; (void)size; (void)op; (void)udata;
  return NULL;  // read-only: the image never grows
}

static inline herr_t chdf5_lent_free(void *ptr, H5FD_file_image_op_t op, void *udata) {
  (void)ptr; (void)op; (void)udata;
  return 0;  // the lender frees the buffer
}

static inline void *chdf5_lent_udata_copy(void *udata) { return udata; }
static inline herr_t chdf5_lent_udata_free(void *udata) { (void)udata; return 0; }

/// Sets `image` (which must stay alive until the file and property list are closed) as the
/// file image of `fapl`, without copying it.
static inline herr_t chdf5_set_lent_image(hid_t fapl, chdf5_lent_image *image) {
  H5FD_file_image_callbacks_t callbacks = {
    chdf5_lent_malloc, chdf5_lent_memcpy, chdf5_lent_realloc, chdf5_lent_free,
    chdf5_lent_udata_copy, chdf5_lent_udata_free, image
  };
  if (H5Pset_file_image_callbacks(fapl, &callbacks) < 0) return -1;
  return H5Pset_file_image(fapl, image->buffer, image->size);
}

#endif
