// moe_image.c: libpng's simplified API and libjpeg behind moe_image.h; libjpeg's longjmp stays inside C.
#include "moe_image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

static void set_message(char *message, size_t size, const char *text) {
  if (size == 0) return;
  snprintf(message, size, "%s", text);
}

// MARK: - PNG

int moe_png_decode(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                   char *message, size_t message_size) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  *rgb = NULL;
  if (!png_image_begin_read_from_memory(&image, data, size)) {
    set_message(message, message_size, image.message);
    png_image_free(&image);
    return -1;
  }
  if (image.width == 0 || image.height == 0) {
    set_message(message, message_size, "zero-sized image");
    png_image_free(&image);
    return -1;
  }
  // Read as 8-bit sRGB RGBA (16-bit samples taken as sRGB-encoded, like other tools do), then composite
  // over white in sRGB values here, as browsers and Pillow do (libpng would composite in linear light).
  image.format = PNG_FORMAT_RGBA;
  image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
  size_t pixels = (size_t)image.width * image.height;
  unsigned char *rgba = malloc(pixels * 4);
  unsigned char *buffer = malloc(pixels * 3);
  if (rgba == NULL || buffer == NULL) {
    set_message(message, message_size, "out of memory");
    free(rgba);
    free(buffer);
    png_image_free(&image);
    return -1;
  }
  int ok = png_image_finish_read(&image, NULL, rgba, 0, NULL);
  // Warnings (an odd ICC profile, say) are benign; a truncated or corrupt stream is an error.
  if (!ok) {
    set_message(message, message_size, image.message);
    free(rgba);
    free(buffer);
    png_image_free(&image);
    return -1;
  }
  for (size_t i = 0; i < pixels; i++) {
    unsigned alpha = rgba[4 * i + 3];
    for (int c = 0; c < 3; c++) {
      buffer[3 * i + c] = (unsigned char)((rgba[4 * i + c] * alpha + 255 * (255 - alpha) + 127) / 255);
    }
  }
  free(rgba);
  *rgb = buffer;
  *width = (int)image.width;
  *height = (int)image.height;
  png_image_free(&image);
  return 0;
}

int moe_png_encode(const unsigned char *rgb, int width, int height, unsigned char **png, size_t *png_size,
                   char *message, size_t message_size) {
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = (png_uint_32)width;
  image.height = (png_uint_32)height;
  image.format = PNG_FORMAT_RGB;
  *png = NULL;
  png_alloc_size_t bytes = 0;
  if (!png_image_write_get_memory_size(image, bytes, 0, rgb, 0, NULL)) {
    set_message(message, message_size, image.message);
    return -1;
  }
  unsigned char *buffer = malloc(bytes);
  if (buffer == NULL) {
    set_message(message, message_size, "out of memory");
    return -1;
  }
  if (!png_image_write_to_memory(&image, buffer, &bytes, 0, rgb, 0, NULL)) {
    set_message(message, message_size, image.message);
    free(buffer);
    return -1;
  }
  *png = buffer;
  *png_size = bytes;
  return 0;
}

// MARK: - JPEG

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf escape;
  char first_warning[JMSG_LENGTH_MAX];
} moe_jpeg_error;

static void moe_jpeg_error_exit(j_common_ptr cinfo) {
  moe_jpeg_error *error = (moe_jpeg_error *)cinfo->err;
  longjmp(error->escape, 1);
}

static void moe_jpeg_emit_message(j_common_ptr cinfo, int level) {
  moe_jpeg_error *error = (moe_jpeg_error *)cinfo->err;
  if (level < 0) {  // a warning: corrupt or truncated data that libjpeg would paper over
    if (error->base.num_warnings == 0) (*error->base.format_message)(cinfo, error->first_warning);
    error->base.num_warnings++;
  }
}

int moe_jpeg_decode(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                    char *message, size_t message_size) {
  struct jpeg_decompress_struct cinfo;
  moe_jpeg_error error;
  unsigned char *volatile buffer = NULL;
  *rgb = NULL;
  memset(&error, 0, sizeof error);
  cinfo.err = jpeg_std_error(&error.base);
  error.base.error_exit = moe_jpeg_error_exit;
  error.base.emit_message = moe_jpeg_emit_message;
  if (setjmp(error.escape)) {
    char text[JMSG_LENGTH_MAX];
    (*error.base.format_message)((j_common_ptr)&cinfo, text);
    set_message(message, message_size, text);
    jpeg_destroy_decompress(&cinfo);
    free(buffer);
    return -1;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, (unsigned long)size);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  if (cinfo.output_width == 0 || cinfo.output_height == 0 || cinfo.output_components != 3) {
    set_message(message, message_size, cinfo.output_components != 3 ? "unsupported colour space" : "zero-sized image");
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  size_t stride = (size_t)cinfo.output_width * 3;
  buffer = malloc(stride * cinfo.output_height);
  if (buffer == NULL) {
    set_message(message, message_size, "out of memory");
    jpeg_destroy_decompress(&cinfo);
    return -1;
  }
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = buffer + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  if (error.base.num_warnings > 0) {
    set_message(message, message_size, error.first_warning);
    jpeg_destroy_decompress(&cinfo);
    free(buffer);
    return -1;
  }
  *width = (int)cinfo.output_width;
  *height = (int)cinfo.output_height;
  *rgb = buffer;
  jpeg_destroy_decompress(&cinfo);
  return 0;
}

void moe_image_free(void *buffer) { free(buffer); }
