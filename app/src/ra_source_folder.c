/* ra_source_folder.c - a hot folder: JPEG files dropped into a directory by a camera, a
 * phone or another program, each taken exactly once.
 *
 * Complete: a writer gives no signal when it is done, so a file is tried only when its
 * size and modification time have not changed over stable_polls polls, and taken only
 * when its bytes decode as a whole JPEG (the decoder refuses truncated data). A file that
 * fails is tried again after it changes or after further stable polls, until
 * reject_after_ms have passed since its last change: then it is moved to rejected/ with
 * the reason beside it, so a broken delivery is visible and never blocks the folder.
 *
 * Exactly once: a taken file is moved into taken/ with renameat2(RENAME_NOREPLACE) before
 * the frame is returned. The rename is atomic: after a crash or restart the file is either
 * still in the folder (not taken, it will be) or in taken/ (taken, never again). The
 * cost: a crash after the rename and before the caller records its decision loses that
 * decision (not the evidence, which stays in taken/); the decision store deduplicates by
 * the bytes' hash, so re-feeding taken/ by hand is safe. NOREPLACE means a second file of
 * the same name never overwrites the first one's evidence: it becomes NAME.1.jpg, .2 ... */
#define _GNU_SOURCE
#include "ra_source_priv.h"

#include "rv/rv_error.h"
#include "rv/rv_jpeg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *s_domain = "ra_source_folder";

typedef struct {
    char name[256];
    off_t size;
    struct timespec mtime;
    int stable;            /* polls without a change */
    double last_change_ms; /* monotonic */
    int seen;              /* in the latest scan */
} s_entry_t;

typedef struct {
    char dir[3800];
    s_entry_t *items;
    size_t n, cap;
} s_folder_t;

static void s_destroy(void *impl)
{
    s_folder_t *f = impl;
    if (f)
        free(f->items);
    free(f);
}

static int s_is_jpeg_name(const char *name)
{
    if (name[0] == '.')
        return 0; /* hidden: a writer's temporary name before it renames into place */
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int s_same_time(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static int s_by_name(const void *a, const void *b)
{
    return strcmp(((const s_entry_t *) a)->name, ((const s_entry_t *) b)->name);
}

/* One poll of the directory: new files enter, changed ones restart their count, vanished
 * ones leave. */
static int s_scan(ra_source_t *self, s_folder_t *f)
{
    DIR *d = opendir(f->dir);
    if (!d)
        return rv_fail(RV_EIO, s_domain, "cannot read %s: %s", f->dir, strerror(errno));
    double now = ra_source_now_ms();
    for (size_t i = 0; i < f->n; i++)
        f->items[i].seen = 0;
    struct dirent *de;
    int added = 0;
    while ((de = readdir(d)) != NULL) {
        if (!s_is_jpeg_name(de->d_name) || strlen(de->d_name) >= sizeof f->items[0].name)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        s_entry_t *e = NULL;
        for (size_t i = 0; i < f->n && !e; i++)
            if (!strcmp(f->items[i].name, de->d_name))
                e = &f->items[i];
        if (!e) {
            if (f->n == f->cap) {
                size_t cap = f->cap ? 2 * f->cap : 64;
                s_entry_t *p = realloc(f->items, cap * sizeof *p);
                if (!p) {
                    closedir(d);
                    return rv_fail(RV_ENOMEM, s_domain, "out of memory");
                }
                f->items = p;
                f->cap = cap;
            }
            e = &f->items[f->n++];
            memset(e, 0, sizeof *e);
            snprintf(e->name, sizeof e->name, "%s", de->d_name);
            e->size = st.st_size;
            e->mtime = st.st_mtim;
            e->last_change_ms = now;
            /* found at start-up, untouched for a while: no need to watch it settle */
            struct timespec rt;
            clock_gettime(CLOCK_REALTIME, &rt);
            if (rt.tv_sec - st.st_mtim.tv_sec >= 2)
                e->stable = self->opts.stable_polls;
            added = 1;
        } else if (e->size != st.st_size || !s_same_time(e->mtime, st.st_mtim)) {
            e->size = st.st_size;
            e->mtime = st.st_mtim;
            e->stable = 0;
            e->last_change_ms = now;
        } else {
            e->stable++;
        }
        e->seen = 1;
    }
    closedir(d);
    size_t k = 0;
    for (size_t i = 0; i < f->n; i++)
        if (f->items[i].seen)
            f->items[k++] = f->items[i];
    f->n = k;
    if (added) /* oldest names first: camera counters and timestamps sort in time order */
        qsort(f->items, f->n, sizeof *f->items, s_by_name);
    return RV_OK;
}

/* Move dir/name into dir/sub/ under a name not yet used there; final gets the new path.
 * 0, or -errno. */
static int s_move_unique(const char *dir, const char *name, const char *sub, char *final,
                         size_t fsz)
{
    char src[4096];
    snprintf(src, sizeof src, "%s/%s", dir, name);
    const char *dot = strrchr(name, '.');
    int stem = dot ? (int) (dot - name) : (int) strlen(name);
    for (int k = 0; k < 100000; k++) {
        if (k == 0)
            snprintf(final, fsz, "%s/%s/%s", dir, sub, name);
        else
            snprintf(final, fsz, "%s/%s/%.*s.%d%s", dir, sub, stem, name, k, dot ? dot : "");
        if (renameat2(AT_FDCWD, src, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno == EEXIST)
            continue;
        if (errno == EINVAL || errno == ENOSYS) {
            /* a file system without RENAME_NOREPLACE: link(2) refuses an existing name
             * just as atomically; a crash between link and unlink leaves the file in both
             * places, and the next start would take it a second time (documented) */
            if (link(src, final) == 0)
                return unlink(src) == 0 ? 0 : -errno;
            if (errno == EEXIST)
                continue;
        }
        return -errno;
    }
    return -EEXIST;
}

static void s_write_reason(const char *final, const char *name, const char *why)
{
    char rpath[8400], tmp[8400];
    snprintf(rpath, sizeof rpath, "%s.reason.txt", final);
    snprintf(tmp, sizeof tmp, "%s.reason.tmp", final);
    FILE *out = fopen(tmp, "w");
    if (!out)
        return;
    fprintf(out, "%s: %s\n", name, why);
    if (fclose(out) == 0)
        rename(tmp, rpath); /* whole or absent, as every file we leave behind */
    else
        unlink(tmp);
}

static void s_reject(ra_source_t *self, s_folder_t *f, const s_entry_t *e, const char *why)
{
    char final[4096];
    if (s_move_unique(f->dir, e->name, "rejected", final, sizeof final) != 0)
        return; /* vanished meanwhile: nothing to set aside */
    self->stats.rejected++;
    s_write_reason(final, e->name, why);
}

static int s_read_fd(int fd, size_t len, uint8_t **out)
{
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf)
        return rv_fail(RV_ENOMEM, s_domain, "out of memory");
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t) got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return rv_fail(RV_EIO, s_domain, "short read (%zu of %zu bytes)", got, len);
        }
        got += (size_t) r;
    }
    *out = buf;
    return RV_OK;
}

/* Try to take one stable file. 1: *out is its frame; 0: not (yet) or gone. */
static int s_try(ra_source_t *self, s_folder_t *f, size_t idx, ra_frame_t **out)
{
    s_entry_t e = f->items[idx];
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", f->dir, e.name);
    snprintf(self->current, sizeof self->current, "%s", path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0; /* gone; the next scan forgets it */
    struct stat st;
    ra_frame_t *fr = NULL;
    int taken = 0;
    char why[512] = "";
    if (fstat(fd, &st) != 0 || st.st_size != e.size || !s_same_time(st.st_mtim, e.mtime)) {
        f->items[idx].stable = 0; /* still moving */
        goto done;
    }
    if ((size_t) st.st_size > self->opts.max_bytes) {
        snprintf(why, sizeof why, "%lld bytes, over the limit of %zu", (long long) st.st_size,
                 self->opts.max_bytes);
    } else if (st.st_size == 0) {
        snprintf(why, sizeof why, "empty file (0 bytes)");
    } else {
        uint8_t *bytes = NULL;
        if (s_read_fd(fd, (size_t) st.st_size, &bytes) == RV_OK &&
            !(fr = ra_frame_from_jpeg(bytes, (size_t) st.st_size, &self->opts)))
            snprintf(why, sizeof why, "not a complete JPEG: %s", rv_last_error());
    }
    if (!fr) {
        /* over the limit: final at once; else a writer may still be busy (pausing longer
         * than our polls): wait for it until the timeout since its last change */
        int final = (size_t) st.st_size > self->opts.max_bytes ||
                    ra_source_now_ms() - e.last_change_ms >= self->opts.reject_after_ms;
        if (final) {
            s_reject(self, f, &e, why[0] ? why : "unreadable");
            f->items[idx].seen = 0;
        } else {
            f->items[idx].stable = 0;
        }
        goto done;
    }
    char final[4096];
    int mv = s_move_unique(f->dir, e.name, "taken", final, sizeof final);
    if (mv != 0) {
        if (mv != -ENOENT)
            rv_fail(RV_EIO, s_domain, "cannot move %s into taken/: %s", path, strerror(-mv));
        ra_frame_destroy(&fr); /* another taker got it, or we cannot: not ours */
        goto done;
    }
    /* the descriptor follows the file: a writer that touched it between our read and the
     * rename shows here, and the evidence must be the bytes now in taken/ */
    struct stat st2;
    if (fstat(fd, &st2) == 0 &&
        (st2.st_size != st.st_size || !s_same_time(st2.st_mtim, st.st_mtim))) {
        ra_frame_destroy(&fr);
        uint8_t *bytes = NULL;
        if (s_read_fd(fd, (size_t) st2.st_size, &bytes) == RV_OK)
            fr = ra_frame_from_jpeg(bytes, (size_t) st2.st_size, &self->opts);
        if (!fr) {
            /* rejected/ is a sibling of taken/: the file goes over, its reason with it */
            const char *slash = strrchr(final, '/');
            char to[8300];
            snprintf(to, sizeof to, "%s/rejected/%s", f->dir, slash ? slash + 1 : final);
            if (renameat2(AT_FDCWD, final, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
                self->stats.rejected++;
                s_write_reason(to, e.name, "changed while it was being taken");
            }
            f->items[idx].seen = 0;
            goto done;
        }
    }
    snprintf(fr->name, sizeof fr->name, "%s", final);
    snprintf(fr->original, sizeof fr->original, "%s", e.name);
    snprintf(self->current, sizeof self->current, "%s", final);
    f->items[idx].seen = 0;
    *out = fr;
    taken = 1;
done:
    close(fd);
    return taken;
}

static int s_next(ra_source_t *self, int timeout_ms, ra_frame_t **out)
{
    s_folder_t *f = self->impl;
    double deadline = ra_source_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int rc = s_scan(self, f);
        if (rc != RV_OK)
            return rc;
        for (size_t i = 0; i < f->n; i++) {
            if (f->items[i].stable < self->opts.stable_polls)
                continue;
            if (s_try(self, f, i, out))
                break;
        }
        /* drop what was taken or rejected (seen = 0) */
        size_t k = 0;
        for (size_t i = 0; i < f->n; i++)
            if (f->items[i].seen)
                f->items[k++] = f->items[i];
        f->n = k;
        if (*out)
            return RV_OK;
        if (timeout_ms >= 0 && ra_source_now_ms() >= deadline)
            return RA_SOURCE_IDLE;
        ra_source_sleep_ms(self->opts.poll_ms);
    }
}

static const ra_source_ops_t s_ops = {s_next, s_destroy};

static int s_mkdir(const char *dir, const char *sub)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
        return rv_fail(RV_EIO, s_domain, "cannot create %s: %s", p, strerror(errno));
    return RV_OK;
}

ra_source_t *ra_source_folder_new(const char *dir, const ra_source_opts_t *opts)
{
    struct stat st;
    if (!dir || !*dir) {
        rv_fail(RV_EINVAL, s_domain, "no folder given");
        return NULL;
    }
    if (strlen(dir) >= 3800) {
        rv_fail(RV_EINVAL, s_domain, "folder path too long");
        return NULL;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rv_fail(RV_EIO, s_domain, "no such folder %s", dir);
        return NULL;
    }
    if (access(dir, W_OK) != 0) {
        /* taking a file is moving it: a read-only folder cannot be taken from exactly once */
        rv_fail(RV_EIO, s_domain, "folder %s is not writable (taken files are moved)", dir);
        return NULL;
    }
    if (s_mkdir(dir, "taken") != RV_OK || s_mkdir(dir, "rejected") != RV_OK)
        return NULL;
    s_folder_t *f = calloc(1, sizeof *f);
    if (!f) {
        rv_fail(RV_ENOMEM, s_domain, "out of memory");
        return NULL;
    }
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    char name[3900];
    snprintf(name, sizeof name, "folder:%s", dir);
    ra_source_opts_t o;
    if (opts)
        o = *opts;
    else
        ra_source_opts_default(&o);
    if (o.poll_ms <= 0)
        o.poll_ms = 100;
    if (o.stable_polls < 1)
        o.stable_polls = 1;
    return ra_source_wrap(&s_ops, f, name, &o);
}
