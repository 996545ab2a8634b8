/* rv_memory.h - the process's allocator, set for images.
 *
 * An image of a few megapixels freed and allocated again is, by glibc's default, handed back
 * to the kernel (munmap or heap trim) and faulted in anew, page by page, at its next use. On
 * the virtual machines measured here that cost 60 ms for 20 MB, twenty times the work done
 * on those pixels (docs/benchmarks.md, "Fresh pages"). rv_memory_keep() asks the allocator
 * to keep what is freed, up to 32 MB a block, for the next image: programs that handle
 * frames call it once, first thing in main(). Resident memory then stays at the peak of
 * what the program held. */
#ifndef RV_MEMORY_H
#define RV_MEMORY_H

#ifdef __cplusplus
extern "C" {
#endif

/* 0 when the allocator took the settings (glibc); -1 where it has none to take. */
int rv_memory_keep(void);

#ifdef __cplusplus
}
#endif
#endif
