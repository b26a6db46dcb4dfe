// moe_image.h: PNG read/write (libpng) and JPEG read (libjpeg) from memory, errors as one-line messages.
#ifndef MOE_IMAGE_H
#define MOE_IMAGE_H

#include <stddef.h>

/// Decodes a PNG held in memory to 8-bit RGB (alpha composited over white, 16-bit reduced, palette
/// and grey expanded). On success returns 0 and sets *rgb (free with moe_image_free), *width, *height.
/// On failure returns -1 and writes a one-line reason into message.
int moe_png_decode(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                   char *message, size_t message_size);

/// Encodes width x height 8-bit RGB rows as a PNG. On success returns 0 and sets *png (free with
/// moe_image_free) and *png_size; on failure returns -1 with a reason in message.
int moe_png_encode(const unsigned char *rgb, int width, int height, unsigned char **png, size_t *png_size,
                   char *message, size_t message_size);

/// Decodes a baseline or progressive JPEG held in memory to 8-bit RGB (greyscale expanded). Any
/// libjpeg warning (a truncated or damaged stream) counts as failure. Returns 0 or -1 like moe_png_decode.
int moe_jpeg_decode(const unsigned char *data, size_t size, unsigned char **rgb, int *width, int *height,
                    char *message, size_t message_size);

/// Frees a buffer returned by the functions above.
void moe_image_free(void *buffer);

#endif
