#ifndef KERAS_INSPECT_CHDF5_SHIM_H
#define KERAS_INSPECT_CHDF5_SHIM_H

// Debian and Ubuntu keep the headers in hdf5/serial/ (reached without a -I flag, so the package
// needs no pkg-config when it links the static library); elsewhere pkg-config gives the folder.
#if __has_include(<hdf5/serial/hdf5.h>)
#include <hdf5/serial/hdf5.h>
#else
#include <hdf5.h>
#endif
#include <stdio.h>
#include <stdlib.h>

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

// ---- A file is read alone: nothing outside it is followed, no plugin is loaded. ----

/// Refuses every external-link traversal (an H5L_elink_traverse_t).
static inline herr_t chdf5_deny_external_link(const char *parent_file, const char *parent_group, const char *child_file,
                                              const char *child_object, unsigned *flags, hid_t fapl, void *data) {
  (void)parent_file; (void)parent_group; (void)child_file; (void)child_object; (void)flags; (void)fapl; (void)data;
  return -1;
}

/// Where external raw data and virtual-dataset sources would be looked for: a folder that does
/// not exist, so a relative name that escapes the checks still opens nothing.
static inline const char *chdf5_nowhere(void) { return "/nonexistent/keras-inspect-reads-the-model-file-alone"; }

/// A link-access property list that follows no external link.
static inline hid_t chdf5_lapl_self_contained(void) {
  hid_t lapl = H5Pcreate(H5P_LINK_ACCESS);
  if (lapl < 0) return lapl;
  H5Pset_elink_cb(lapl, chdf5_deny_external_link, NULL);
  H5Pset_elink_prefix(lapl, chdf5_nowhere());
  return lapl;
}

/// A dataset-access property list that follows no external link and finds no external file.
static inline hid_t chdf5_dapl_self_contained(void) {
  hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
  if (dapl < 0) return dapl;
  H5Pset_elink_cb(dapl, chdf5_deny_external_link, NULL);
  H5Pset_elink_prefix(dapl, chdf5_nowhere());
  H5Pset_efile_prefix(dapl, chdf5_nowhere());
  H5Pset_virtual_prefix(dapl, chdf5_nowhere());
  return dapl;
}

/// The type of link `name` under `loc`: H5L_TYPE_HARD (0), H5L_TYPE_SOFT (1), H5L_TYPE_EXTERNAL
/// (64), another user-defined type, or -1 when it cannot be read.
static inline int chdf5_link_type(hid_t loc, const char *name, hid_t lapl) {
  H5L_info_t info;
  if (H5Lget_info(loc, name, &info, lapl) < 0) return -1;
  return (int)info.type;
}

/// The target file and object of external link `name`, written into the buffers (truncated).
static inline herr_t chdf5_external_link_target(hid_t loc, const char *name, hid_t lapl, char *file, size_t file_size,
                                                char *object, size_t object_size) {
  H5L_info_t info;
  if (H5Lget_info(loc, name, &info, lapl) < 0 || info.type != H5L_TYPE_EXTERNAL) return -1;
  size_t size = info.u.val_size;
  if (size == 0 || size > (1 << 16)) return -1;
  char *buffer = (char *)malloc(size);
  if (!buffer) return -1;
  herr_t status = -1;
  const char *f = NULL, *o = NULL;
  unsigned flags = 0;
  if (H5Lget_val(loc, name, buffer, size, lapl) >= 0 && H5Lunpack_elink_val(buffer, size, &flags, &f, &o) >= 0) {
    snprintf(file, file_size, "%s", f ? f : "");
    snprintf(object, object_size, "%s", o ? o : "");
    status = 0;
  }
  free(buffer);
  return status;
}

/// The object's address in its file (identifies a group reached twice through hard links).
static inline haddr_t chdf5_object_address(hid_t object) {
  H5O_info_t info;
  if (H5Oget_info2(object, &info, H5O_INFO_BASIC) < 0) return HADDR_UNDEF;
  return info.addr;
}

/// The type of the object `name` leads to (H5O_TYPE_GROUP, H5O_TYPE_DATASET, ...), or -1,
/// without opening it (opening a dataset with other access properties than an open handle's
/// of it fails).
static inline int chdf5_object_type(hid_t loc, const char *name, hid_t lapl) {
  H5O_info_t info;
  if (H5Oget_info_by_name2(loc, name, &info, H5O_INFO_BASIC, lapl) < 0) return -1;
  return (int)info.type;
}
static inline int chdf5_type_group(void) { return H5O_TYPE_GROUP; }
static inline int chdf5_type_dataset(void) { return H5O_TYPE_DATASET; }

static inline haddr_t chdf5_haddr_undef(void) { return HADDR_UNDEF; }
static inline int chdf5_layout_virtual(void) { return H5D_VIRTUAL; }
static inline int chdf5_layout_contiguous(void) { return H5D_CONTIGUOUS; }
static inline hid_t chdf5_ieee_f32le(void) { return H5T_IEEE_F32LE; }

/// The file driver's handle of an open file (for the sec2 driver, a pointer to its descriptor),
/// or NULL: one per file libhdf5 has open, so it tells which file an object is in.
static inline void *chdf5_vfd_handle(hid_t file) {
  void *handle = NULL;
  if (H5Fget_vfd_handle(file, H5P_DEFAULT, &handle) < 0) return NULL;
  return handle;
}

/// Whether libhdf5 reads `file` with the sec2 (POSIX) driver.
static inline int chdf5_is_sec2(hid_t file) {
  hid_t fapl = H5Fget_access_plist(file);
  if (fapl < 0) return 0;
  hid_t driver = H5Pget_driver(fapl);
  H5Pclose(fapl);
  return driver >= 0 && driver == H5FD_SEC2;
}

/// The driver handle of the file `object` is in (see chdf5_vfd_handle).
static inline void *chdf5_object_vfd_handle(hid_t object) {
  hid_t file = H5Iget_file_id(object);
  if (file < 0) return NULL;
  void *handle = chdf5_vfd_handle(file);
  H5Fclose(file);
  return handle;
}
static inline int chdf5_link_external(void) { return H5L_TYPE_EXTERNAL; }
static inline int chdf5_link_soft(void) { return H5L_TYPE_SOFT; }
static inline int chdf5_link_hard(void) { return H5L_TYPE_HARD; }

#endif
