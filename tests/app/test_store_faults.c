/* test_store_faults.c - the store when the disk refuses: a full file system (a tiny tmpfs,
 * as root), a file size limit (RLIMIT_FSIZE, in a child), a read-only store (chmod; as
 * root, a child that becomes nobody; a read-only mount). A refused write must return
 * RV_EIO with a clear message and store nothing; nothing may be acknowledged; once the
 * disk takes writes again the store reopens, verifies and carries on at seq = last + 1. */
#include "rs_test.h"
#include "store_fixture.h"

#include "ra/ra_store.h"
#include "rv/rv_error.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>

static int s_ran; /* sub-cases that ran */

/* After the disk refused: reopen, verify, decide once more (seq = last + 1). */
static void s_recovers(const char *dir, const char *station, uint64_t acked)
{
    ra_store_t *st = ra_store_open(dir, station, RA_STORE_WRITE);
    RS_CHECKF(st != NULL, "reopen: %s", rv_last_error());
    if (!st)
        return;
    RS_CHECK_EQ(ra_store_last_seq(st), acked);
    ra_verify_report_t rep;
    RS_CHECKF(ra_store_verify(st, &rep) == 0, "%s", rep.what);
    char err[200];
    RS_CHECK(fx_sql(dir, "SELECT 1", err, sizeof err) == SQLITE_OK);
    RS_CHECK_EQ(fx_sql_int(dir, "SELECT count(*) FROM outbox"), (long long) acked);
    int64_t n = fx_inspect(st, "CAL-9100", "repair", "repair", NULL, NULL);
    ra_decision_in_t in = {.inspection = n, .operator_id = "cell"};
    ra_decision_ack_t ack;
    RS_CHECKF(n > 0 && ra_store_decide(st, &in, &ack) == 0, "%s", rv_last_error());
    RS_CHECK_EQ(ack.seq, acked + 1);
    ra_store_close(&st);
}

/* Decide until the disk refuses (at most max times). Checks the refusal; returns the last
 * acknowledged seq. */
static uint64_t s_decide_until_refused(ra_store_t *st, int64_t n, int max, const char *expect)
{
    ra_decision_in_t in = {.inspection = n, .operator_id = "cell"};
    ra_decision_ack_t ack;
    uint64_t acked = ra_store_last_seq(st);
    int rc = 0, i = 0;
    for (; i < max; i++) {
        memset(&ack, 0, sizeof ack);
        if ((rc = ra_store_decide(st, &in, &ack)) != 0)
            break;
        RS_CHECK_EQ(ack.seq, acked + 1);
        acked = ack.seq;
    }
    RS_CHECKF(rc == RV_EIO, "%d decisions and no refusal (rc %d)", i, rc);
    if (rc == RV_EIO) {
        printf("store_faults: refused after %d decisions: %s\n", i, rv_last_error());
        RS_CHECK_MSG(rv_last_error(), expect);
        RS_CHECK_MSG(rv_last_error(), "nothing stored");
        RS_CHECK_EQ(ack.seq, 0); /* nothing acknowledged */
        RS_CHECK_EQ(ra_store_last_seq(st), acked);
        char *msg = NULL;
        size_t len = 0;
        RS_CHECK(ra_store_message(st, acked + 1, &msg, &len) == RV_EINVAL);
        free(msg);
    }
    return acked;
}

/* --- full disk: a tiny tmpfs -------------------------------------------------------------- */

static int s_fill(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    static uint8_t buf[65536];
    ssize_t k;
    while ((k = write(fd, buf, sizeof buf)) > 0)
        ;
    /* the last blocks: byte by byte down to nothing */
    while ((k = write(fd, buf, 512)) > 0)
        ;
    int e = errno;
    fsync(fd);
    close(fd);
    return e == ENOSPC ? 0 : -1;
}

static void test_full_tmpfs(const char *tmp)
{
    if (geteuid() != 0) {
        printf("store_faults: full disk on tmpfs skipped: not root\n");
        return;
    }
    char mnt[128], dir[160], filler[160];
    snprintf(mnt, sizeof mnt, "%s/mnt", tmp);
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=2m,mode=0755") != 0) {
        printf("store_faults: full disk on tmpfs skipped: cannot mount tmpfs (%s)\n",
               strerror(errno));
        return;
    }
    s_ran++;
    snprintf(dir, sizeof dir, "%s/store", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    ra_store_t *st = ra_store_open(dir, "st-full", RA_STORE_WRITE);
    RS_CHECKF(st != NULL, "%s", rv_last_error());
    uint64_t acked = 0;
    if (st) {
        char hex[65];
        size_t bytes = 0;
        RS_CHECK(fx_put_jpeg(st, 320, 240, 1, hex, &bytes) == 0);
        json_t *o = fx_inspection("CAL-9000", "repair", "repair", hex, bytes, NULL, 0);
        int64_t n = 0;
        RS_CHECK(ra_store_inspection(st, o, &n) == 0);
        json_decref(o);
        ra_decision_in_t in = {.inspection = n, .operator_id = "cell"};
        ra_decision_ack_t ack;
        RS_CHECK(ra_store_decide(st, &in, &ack) == 0 && ack.seq == 1);
        /* fill the file system */
        RS_CHECK(s_fill(filler) == 0);
        /* evidence refused: named, nothing left behind */
        uint8_t *big = malloc(300000);
        if (big) {
            rs_fill_random(big, 300000, 7);
            RS_CHECK(ra_store_put_evidence(st, big, 300000, hex) == RV_EIO);
            printf("store_faults: evidence refused: %s\n", rv_last_error());
            RS_CHECK_MSG(rv_last_error(), "disk full writing evidence evidence/");
            RS_CHECK_MSG(rv_last_error(), hex);
            char path[512];
            ra_store_evidence_path(st, hex, path, sizeof path);
            RS_CHECK(access(path, F_OK) != 0);
            free(big);
        }
        /* decisions refused: nothing acknowledged */
        acked = s_decide_until_refused(st, n, 20000, "disk full while committing a decision");
        ra_store_close(&st);
    }
    /* space again */
    unlink(filler);
    s_recovers(dir, "st-full", acked);

    /* a read-only mount: audit works, writing is refused with the reason */
    if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, "size=2m") == 0) {
        st = ra_store_open(dir, "st-full", RA_STORE_WRITE);
        RS_CHECK(st == NULL);
        RS_CHECK_MSG(rv_last_error(), "read-only (Read-only file system)");
        st = ra_store_open(dir, NULL, RA_STORE_READONLY);
        RS_CHECKF(st != NULL, "%s", rv_last_error());
        ra_verify_report_t rep;
        RS_CHECK(st && ra_store_verify(st, &rep) == 0);
        RS_CHECK(st && ra_store_last_seq(st) == acked + 1);
        ra_store_close(&st);
    } else {
        printf("store_faults: read-only mount skipped: cannot remount (%s)\n", strerror(errno));
    }
    if (umount2(mnt, MNT_DETACH) != 0)
        fprintf(stderr, "store_faults: cannot unmount %s: %s\n", mnt, strerror(errno));
}

/* --- full disk: a file size limit in a child ----------------------------------------------- */

static off_t s_size(const char *dir, const char *name)
{
    char path[256];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 ? sb.st_size : 0;
}

static void test_fsize(const char *tmp)
{
    char dir[160];
    snprintf(dir, sizeof dir, "%s/fsize", tmp);
    ra_store_t *st = ra_store_open(dir, "st-fsize", RA_STORE_WRITE);
    RS_CHECKF(st != NULL, "%s", rv_last_error());
    if (!st)
        return;
    int64_t n = fx_inspect(st, "CAL-9200", "refurbish", "refurbish", NULL, NULL);
    ra_decision_in_t in = {.inspection = n, .operator_id = "cell"};
    ra_decision_ack_t ack;
    for (int i = 0; i < 3; i++)
        RS_CHECK(ra_store_decide(st, &in, &ack) == 0);
    ra_store_close(&st);
    int fds[2];
    if (pipe(fds) != 0) {
        RS_CHECK(0);
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        signal(SIGXFSZ, SIG_IGN); /* write() fails with EFBIG instead */
        st = ra_store_open(dir, "st-fsize", RA_STORE_WRITE);
        RS_CHECKF(st != NULL, "child open: %s", rv_last_error());
        uint64_t acked = 0;
        if (st) {
            off_t big = s_size(dir, "store.db");
            if (s_size(dir, "store.db-wal") > big)
                big = s_size(dir, "store.db-wal");
            struct rlimit rl = {(rlim_t) big + 96 * 1024, (rlim_t) big + 96 * 1024};
            RS_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
            uint8_t *blob = malloc(400000);
            char hex[65];
            if (blob) {
                rs_fill_random(blob, 400000, 9);
                RS_CHECK(ra_store_put_evidence(st, blob, 400000, hex) == RV_EIO);
                printf("store_faults: evidence refused: %s\n", rv_last_error());
                RS_CHECK_MSG(rv_last_error(), "file size limit reached writing evidence evidence/");
                free(blob);
            }
            acked = s_decide_until_refused(st, n, 20000, "while committing a decision");
            ra_store_close(&st);
        }
        fflush(NULL);
        if (write(fds[1], &acked, sizeof acked) != sizeof acked)
            _exit(100);
        _exit(rs_test_failures() ? 1 : 0);
    }
    close(fds[1]);
    uint64_t acked = 0;
    int got = pid > 0 && read(fds[0], &acked, sizeof acked) == sizeof acked;
    close(fds[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    RS_CHECKF(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "the child's checks failed (status %d)", status);
    RS_CHECK(got && acked >= 3);
    s_ran++;
    if (got)
        s_recovers(dir, "st-fsize", acked);
}

/* --- a read-only store ------------------------------------------------------------------- */

/* What a reader without write permission sees: write-mode open refused, naming read-only;
 * read-only open and verification work. Returns the number of failed checks. */
static int s_readonly_checks(const char *dir, uint64_t seq)
{
    int before = rs_test_failures();
    ra_store_t *st = ra_store_open(dir, "st-ro", RA_STORE_WRITE);
    RS_CHECK(st == NULL);
    RS_CHECK_MSG(rv_last_error(), "read-only");
    RS_CHECK_MSG(rv_last_error(), "RA_STORE_READONLY");
    ra_store_close(&st);
    st = ra_store_open(dir, NULL, RA_STORE_READONLY);
    RS_CHECKF(st != NULL, "%s", rv_last_error());
    if (st) {
        ra_verify_report_t rep;
        RS_CHECKF(ra_store_verify(st, &rep) == 0, "%s", rep.what);
        RS_CHECK(rep.evidence == 1);
        RS_CHECK_EQ(ra_store_last_seq(st), seq);
        char *msg = NULL;
        size_t len = 0;
        RS_CHECK(ra_store_message(st, seq, &msg, &len) == 0 && len > 100);
        free(msg);
        ra_store_close(&st);
    }
    return rs_test_failures() - before;
}

static void test_readonly(const char *tmp)
{
    char dir[160], cmd[400];
    snprintf(dir, sizeof dir, "%s/ro", tmp);
    ra_store_t *st = ra_store_open(dir, "st-ro", RA_STORE_WRITE);
    RS_CHECKF(st != NULL, "%s", rv_last_error());
    if (!st)
        return;
    char hex[65];
    size_t bytes = 0;
    RS_CHECK(fx_put_jpeg(st, 320, 240, 3, hex, &bytes) == 0);
    json_t *o = fx_inspection("CAL-9300", "repair", "repair", hex, bytes, NULL, 0);
    int64_t n = 0;
    RS_CHECK(ra_store_inspection(st, o, &n) == 0);
    json_decref(o);
    ra_decision_in_t in = {.inspection = n, .operator_id = "cell"};
    ra_decision_ack_t ack;
    RS_CHECK(ra_store_decide(st, &in, &ack) == 0);
    ra_store_close(&st);
    chmod(tmp, 0755); /* others may walk to the store */
    snprintf(cmd, sizeof cmd, "chmod -R a-w %s", dir);
    RS_CHECK(system(cmd) == 0);
    if (geteuid() != 0) {
        s_ran++;
        s_readonly_checks(dir, ack.seq);
    } else {
        printf("store_faults: chmod alone skipped: root writes anyway (checked as nobody)\n");
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
                _exit(77);
            int bad = s_readonly_checks(dir, ack.seq);
            printf("store_faults: as nobody (uid %d): %s\n", (int) getuid(),
                   bad ? "FAILED" : "write-mode open refused, read-only open and verify work");
            fflush(NULL);
            _exit(bad ? 1 : 0);
        }
        int status = 0;
        if (pid > 0)
            waitpid(pid, &status, 0);
        if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 77) {
            printf("store_faults: read-only as nobody skipped: cannot drop privileges\n");
        } else {
            s_ran++;
            RS_CHECKF(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "the checks as nobody failed (status %d)", status);
        }
    }
    /* the writer's copy is untouched: it takes writes again once writable */
    snprintf(cmd, sizeof cmd, "chmod -R u+w %s", dir);
    RS_CHECK(system(cmd) == 0);
    s_recovers(dir, "st-ro", ack.seq);
}

int main(void)
{
    if (sodium_init() < 0)
        return rs_test_skip("store_faults", "libsodium does not initialise");
    char tmp[64];
    if (fx_tmpdir(tmp, "faults") != 0)
        return rs_test_skip("store_faults", "no temporary directory");
    test_full_tmpfs(tmp);
    test_fsize(tmp);
    test_readonly(tmp);
    fx_rmrf(tmp);
    RS_CHECKF(s_ran >= 2, "only %d fault cases could run", s_ran);
    return rs_test_end("store_faults");
}
