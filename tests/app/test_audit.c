/* test_audit.c - verification of the ledger and the evidence, against each way an
 * attacker with write access to the files could change history; and the reman-audit
 * program (verify, history, export csv/json/html). */
#include "rs_test.h"
#include "store_fixture.h"

#include "ra/ra_store.h"
#include "rv/rv_error.h"

#include <sys/wait.h>

typedef struct fixture {
    char dir[128];
    int64_t insp[4], dec[4]; /* record numbers: inspections A..D and their decisions */
    char ev[4][2][65];       /* evidence: original, overlay per inspection */
} fixture_t;

static int s_make(fixture_t *fx, const char *tmp)
{
    snprintf(fx->dir, sizeof fx->dir, "%s/pristine", tmp);
    ra_store_t *st = ra_store_open(fx->dir, "st-audit", RA_STORE_WRITE);
    if (!st)
        return -1;
    static const struct {
        const char *serial, *proposal, *grader, *route, *reason, *text;
    } plan[4] = {
        {"CAL-7001", "repair", "repair", NULL, NULL, NULL},
        {"CAL-7001", "review", "scrap", "scrap", "REV-SCRAP", NULL},
        {"CAL-7002", "remanufacture", "remanufacture", "refurbish", "OVR-WEAR",
         "worn <b>seal</b> & \"quote\""},
        {"CAL-7001", "reuse", "reuse", NULL, NULL, NULL},
    };
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        size_t b0 = 0, b1 = 0;
        if (fx_put_jpeg(st, 1024, 768, 11u * (unsigned) i + 1, fx->ev[i][0], &b0) != 0 ||
            fx_put_jpeg(st, 1024, 768, 11u * (unsigned) i + 5, fx->ev[i][1], &b1) != 0) {
            rc = -1;
            break;
        }
        json_t *o = fx_inspection(plan[i].serial, plan[i].proposal, plan[i].grader, fx->ev[i][0],
                                  b0, fx->ev[i][1], b1);
        rc = ra_store_inspection(st, o, &fx->insp[i]);
        json_decref(o);
        ra_decision_in_t in = {.inspection = fx->insp[i], .operator_id = "cell",
                               .route = plan[i].route, .reason_code = plan[i].reason,
                               .text = plan[i].text};
        ra_decision_ack_t ack;
        if (rc == 0 && (rc = ra_store_decide(st, &in, &ack)) == 0)
            fx->dec[i] = ack.n;
    }
    if (rc)
        fprintf(stderr, "fixture: %s\n", rv_last_error());
    ra_store_close(&st);
    return rc;
}

/* A copy of the pristine store to tamper with. */
static void s_copy(const fixture_t *fx, const char *tmp, const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", tmp, name);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -a %s %s", fx->dir, out);
    RS_CHECK(system(cmd) == 0);
}

static int s_verify(const char *dir, ra_verify_report_t *rep)
{
    memset(rep, 0, sizeof *rep);
    ra_store_t *st = ra_store_open(dir, NULL, RA_STORE_READONLY);
    if (!st) {
        snprintf(rep->what, sizeof rep->what, "open: %s", rv_last_error());
        return -100;
    }
    int rc = ra_store_verify(st, rep);
    ra_store_close(&st);
    return rc;
}

/* Change bytes of one record's column through raw SQLite, the triggers dropped first (as
 * an attacker would). fn edits the value in place. */
typedef void (*edit_fn)(unsigned char *v, int len, void *arg);

static int s_tamper(const char *dir, int64_t n, const char *column, edit_fn fn, void *arg)
{
    char err[256], sql[256];
    if (fx_sql(dir, "DROP TRIGGER records_no_update; DROP TRIGGER records_no_delete", err,
               sizeof err) != SQLITE_OK)
        return -1;
    char path[256];
    snprintf(path, sizeof path, "%s/store.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    snprintf(sql, sizeof sql, "SELECT %s FROM records WHERE n = %lld", column, (long long) n);
    if (sqlite3_open(path, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        int len = sqlite3_column_bytes(st, 0);
        unsigned char *v = malloc((size_t) len + 1);
        memcpy(v, sqlite3_column_blob(st, 0), (size_t) len);
        v[len] = 0;
        sqlite3_finalize(st);
        st = NULL;
        fn(v, len, arg);
        snprintf(sql, sizeof sql, "UPDATE records SET %s = ?1 WHERE n = %lld", column,
                 (long long) n);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
            if (!strcmp(column, "body"))
                sqlite3_bind_text(st, 1, (const char *) v, len, SQLITE_TRANSIENT);
            else
                sqlite3_bind_blob(st, 1, v, len, SQLITE_TRANSIENT);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        }
        free(v);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static void s_flip_byte(unsigned char *v, int len, void *arg)
{
    int k = *(int *) arg;
    if (k < len)
        v[k] ^= 0x01;
}

/* "route":"repair" -> "route":"rePair": one byte, still JSON */
static void s_change_route(unsigned char *v, int len, void *arg)
{
    (void) len;
    (void) arg;
    char *p = strstr((char *) v, "\"route\":\"repair\"");
    if (p)
        p[11] = 'P';
}

/* "serial":"CAL-... -> "serial":"cAL-...: one byte, still JSON */
static void s_change_serial(unsigned char *v, int len, void *arg)
{
    (void) len;
    (void) arg;
    char *p = strstr((char *) v, "\"serial\":\"CAL-");
    if (p)
        p[10] = 'c';
}

/* --- the library's verification ------------------------------------------------------- */

static void test_tamper(const fixture_t *fx, const char *tmp)
{
    ra_verify_report_t rep;
    char dir[160], what[256];
    int rc = s_verify(fx->dir, &rep);
    RS_CHECKF(rc == 0, "%s", rep.what);
    RS_CHECK_EQ(rep.records, fx->dec[3]);
    RS_CHECK_EQ(rep.evidence, 8);
    RS_CHECK_EQ(rep.first_bad, 0);

    /* one byte of a decision's body */
    s_copy(fx, tmp, "body", dir, sizeof dir);
    RS_CHECK(s_tamper(dir, fx->dec[0], "body", s_change_route, NULL) == 0);
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, fx->dec[0]);
    snprintf(what, sizeof what, "record %lld (decision seq 1): hash does not match",
             (long long) fx->dec[0]);
    RS_CHECK_MSG(rep.what, what);

    /* a body changed and its hash recomputed: the signature gives it away */
    s_copy(fx, tmp, "rehash", dir, sizeof dir);
    RS_CHECK(s_tamper(dir, fx->insp[2], "body", s_change_serial, NULL) == 0);
    {
        /* recompute the hash of the changed inspection from its prev and new body */
        char path[256];
        snprintf(path, sizeof path, "%s/store.db", dir);
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        unsigned char h[32];
        int ok = 0;
        if (sqlite3_open(path, &db) == SQLITE_OK &&
            sqlite3_prepare_v2(db, "SELECT prev, body FROM records WHERE n = ?1", -1, &st,
                               NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, fx->insp[2]);
            if (sqlite3_step(st) == SQLITE_ROW) {
                crypto_hash_sha256_state s;
                crypto_hash_sha256_init(&s);
                crypto_hash_sha256_update(&s, sqlite3_column_blob(st, 0), 32);
                crypto_hash_sha256_update(&s, sqlite3_column_text(st, 1),
                                          (unsigned long long) sqlite3_column_bytes(st, 1));
                crypto_hash_sha256_final(&s, h);
                ok = 1;
            }
            sqlite3_finalize(st);
            st = NULL;
        }
        if (ok && sqlite3_prepare_v2(db, "UPDATE records SET hash = ?1 WHERE n = ?2", -1, &st,
                                     NULL) == SQLITE_OK) {
            sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, fx->insp[2]);
            ok = sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
        sqlite3_close(db);
        RS_CHECK(ok);
    }
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, fx->insp[2]);
    snprintf(what, sizeof what, "record %lld (inspection): signature does not verify",
             (long long) fx->insp[2]);
    RS_CHECK_MSG(rep.what, what);

    /* one byte of a signature */
    s_copy(fx, tmp, "sig", dir, sizeof dir);
    int k = 17;
    RS_CHECK(s_tamper(dir, fx->dec[1], "sig", s_flip_byte, &k) == 0);
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, fx->dec[1]);
    snprintf(what, sizeof what, "record %lld (decision seq 2): signature does not verify",
             (long long) fx->dec[1]);
    RS_CHECK_MSG(rep.what, what);

    /* one byte of a prev */
    s_copy(fx, tmp, "prev", dir, sizeof dir);
    k = 3;
    RS_CHECK(s_tamper(dir, fx->insp[3], "prev", s_flip_byte, &k) == 0);
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, fx->insp[3]);
    snprintf(what, sizeof what, "record %lld (inspection): prev does not match the hash of record %lld",
             (long long) fx->insp[3], (long long) fx->insp[3] - 1);
    RS_CHECK_MSG(rep.what, what);

    /* a deleted record */
    s_copy(fx, tmp, "deleted", dir, sizeof dir);
    char err[256], sql[128];
    fx_sql(dir, "DROP TRIGGER records_no_delete", err, sizeof err);
    snprintf(sql, sizeof sql, "DELETE FROM records WHERE n = %lld", (long long) fx->dec[2]);
    RS_CHECK(fx_sql(dir, sql, err, sizeof err) == SQLITE_OK);
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, fx->dec[2]);
    snprintf(what, sizeof what, "record %lld: missing", (long long) fx->dec[2]);
    RS_CHECK_MSG(rep.what, what);

    /* one byte of an evidence file */
    s_copy(fx, tmp, "evbyte", dir, sizeof dir);
    char path[512];
    snprintf(path, sizeof path, "%s/evidence/%.2s/%s", dir, fx->ev[2][1], fx->ev[2][1]);
    chmod(path, 0644);
    FILE *f = fopen(path, "r+b");
    RS_CHECK(f != NULL);
    if (f) {
        fseek(f, 700, SEEK_SET);
        int c = fgetc(f);
        fseek(f, 700, SEEK_SET);
        fputc(c ^ 0x20, f);
        fclose(f);
    }
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, fx->insp[2]);
    snprintf(what, sizeof what, "evidence/%.2s/%s: SHA-256 does not match its name", fx->ev[2][1],
             fx->ev[2][1]);
    RS_CHECK_MSG(rep.what, what);

    /* a missing evidence file */
    s_copy(fx, tmp, "evgone", dir, sizeof dir);
    snprintf(path, sizeof path, "%s/evidence/%.2s/%s", dir, fx->ev[1][0], fx->ev[1][0]);
    RS_CHECK(unlink(path) == 0);
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, fx->insp[1]);
    snprintf(what, sizeof what, "evidence/%.2s/%s cited by record %lld: missing", fx->ev[1][0],
             fx->ev[1][0], (long long) fx->insp[1]);
    RS_CHECK_MSG(rep.what, what);

    /* a replaced station.pub */
    s_copy(fx, tmp, "pub", dir, sizeof dir);
    unsigned char pk[32], sk[64];
    char hex[65];
    crypto_sign_keypair(pk, sk);
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    snprintf(path, sizeof path, "%s/station.pub", dir);
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", hex);
        fclose(f);
    }
    RS_CHECK(s_verify(dir, &rep) == RV_EFORMAT);
    RS_CHECK_EQ(rep.first_bad, 1);
    RS_CHECK_MSG(rep.what, "station.pub does not match the public key in record 1");
    /* nor will the station sign with a store whose key file was swapped */
    RS_CHECK(ra_store_open(dir, "st-audit", RA_STORE_WRITE) == NULL);
    RS_CHECK_MSG(rv_last_error(), "station.pub");

    /* the pristine store still verifies (the copies were independent) */
    RS_CHECK(s_verify(fx->dir, &rep) == 0);
}

/* --- reman-audit --------------------------------------------------------------------- */

static char s_bin[512];

/* Run reman-audit with args; its standard output (malloc'd) and exit status. */
static int s_run(const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", s_bin, args);
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!p || !buf) {
        free(buf);
        if (p)
            pclose(p);
        *out = NULL;
        return -1;
    }
    size_t k;
    while ((k = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += k;
        if (len + 1 == cap) {
            char *q = realloc(buf, cap *= 2);
            if (!q)
                break;
            buf = q;
        }
    }
    buf[len] = 0;
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int s_count_str(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_program(const fixture_t *fx, const char *tmp)
{
    char args[1024], *out = NULL;
    /* usage */
    RS_CHECK_EQ(s_run("--help", &out), 0);
    RS_CHECK(out && strstr(out, "usage: reman-audit verify"));
    free(out);
    RS_CHECK_EQ(s_run("--version", &out), 0);
    RS_CHECK(out && strstr(out, "reman-station"));
    free(out);
    RS_CHECK_EQ(s_run("", &out), 2);
    free(out);
    RS_CHECK_EQ(s_run("frobnicate --store /tmp", &out), 2);
    RS_CHECK(out && strstr(out, "unknown command"));
    free(out);
    RS_CHECK_EQ(s_run("verify", &out), 2);
    RS_CHECK(out && strstr(out, "--store"));
    free(out);
    snprintf(args, sizeof args, "export --store %s --format pdf", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 2);
    free(out);
    snprintf(args, sizeof args, "export --store %s --format csv --from tomorrow", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 2);
    free(out);
    snprintf(args, sizeof args, "verify --store %s/none", tmp);
    RS_CHECK_EQ(s_run(args, &out), 1);
    RS_CHECK(out && strstr(out, "no store"));
    free(out);

    /* verify */
    snprintf(args, sizeof args, "verify --store %s", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 0);
    char want[256];
    snprintf(want, sizeof want, "%lld records, 8 evidence files: chain, signatures and evidence verify",
             (long long) fx->dec[3]);
    RS_CHECKF(out && strstr(out, want), "%s", out ? out : "");
    free(out);

    /* history: JSON lines into a pipe */
    snprintf(args, sizeof args, "history --store %s CAL-7001", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 0);
    int lines = 0, inspections = 0, decisions = 0, remanufactured = -1, ordered = 1;
    long long last = 0;
    for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        RS_CHECKF(o != NULL, "not JSON: %s", line);
        lines++;
        const char *kind = json_string_value(json_object_get(o, "kind"));
        long long n = (long long) json_integer_value(json_object_get(o, "n"));
        if (kind && !strcmp(kind, "inspection"))
            inspections++;
        if (kind && !strcmp(kind, "decision"))
            decisions++;
        if (kind) {
            ordered &= n > last;
            last = n;
            json_t *rec = json_object_get(o, "record");
            json_t *sv = kind[0] == 'i' ? json_object_get(json_object_get(rec, "code"), "serial")
                                        : json_object_get(rec, "serial");
            RS_CHECK(json_is_string(sv) && !strcmp(json_string_value(sv), "CAL-7001"));
        }
        json_t *sum = json_object_get(o, "summary");
        if (sum)
            remanufactured = (int) json_integer_value(json_object_get(sum, "remanufactured"));
        json_decref(o);
    }
    RS_CHECK_EQ(lines, 7);
    RS_CHECK_EQ(inspections, 3);
    RS_CHECK_EQ(decisions, 3);
    RS_CHECK_EQ(remanufactured, 2); /* repair and reuse; the scrap does not count */
    RS_CHECK(ordered);
    free(out);
    snprintf(args, sizeof args, "history --store %s --json CAL-0000", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 1);
    RS_CHECK(out && strstr(out, "no inspection or decision of serial CAL-0000"));
    free(out);

    /* export csv */
    snprintf(args, sizeof args, "export --store %s --format csv", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 0);
    RS_CHECK(out && !strncmp(out, "seq,ts,serial,part_number,family,proposal,route,"
                                  "override_reason,operator,role,supervisor,reasons,evidence,hash\n",
                             105));
    RS_CHECK_EQ(s_count_str(out, "\n"), 5);
    RS_CHECK(out && strstr(out, "\n3,"));
    RS_CHECK(out && strstr(out, ",CAL-7002,BC-4471,brake-caliper,remanufacture,refurbish,OVR-WEAR,"
                                "cell,technician,,CRK-BORE,original:"));
    RS_CHECK(out && strstr(out, fx->ev[2][1]));
    free(out);
    snprintf(args, sizeof args, "export --store %s --format csv --from 2999-01-01", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 0);
    RS_CHECK_EQ(s_count_str(out, "\n"), 1);
    free(out);
    snprintf(args, sizeof args, "export --store %s --format csv --to 2000-01-01", fx->dir);
    RS_CHECK_EQ(s_run(args, &out), 0);
    RS_CHECK_EQ(s_count_str(out, "\n"), 1);
    free(out);

    /* export json */
    char file[256];
    snprintf(file, sizeof file, "%s/export.json", tmp);
    snprintf(args, sizeof args, "export --store %s --format json --from 2000-01-01 --out %s",
             fx->dir, file);
    RS_CHECK_EQ(s_run(args, &out), 0);
    free(out);
    json_error_t jerr;
    json_t *doc = json_load_file(file, 0, &jerr);
    RS_CHECKF(doc != NULL, "%s", jerr.text);
    json_t *ds = json_object_get(doc, "decisions");
    RS_CHECK_EQ(json_array_size(ds), 4);
    RS_CHECK(json_is_true(json_object_get(doc, "verified")));
    json_t *third = json_array_get(ds, 2);
    RS_CHECK(third && !strcmp(json_string_value(json_object_get(third, "override_reason")),
                              "OVR-WEAR"));
    RS_CHECK(third && strlen(json_string_value(json_object_get(third, "hash"))) == 64);
    RS_CHECK(third && json_array_size(json_object_get(third, "evidence")) == 2);
    json_decref(doc);

    /* export html */
    snprintf(file, sizeof file, "%s/export.html", tmp);
    snprintf(args, sizeof args, "export --store %s --format html --out %s", fx->dir, file);
    RS_CHECK_EQ(s_run(args, &out), 0);
    free(out);
    uint8_t *html = NULL;
    size_t hlen = 0;
    RS_CHECK(rv_file_read(file, 64u << 20, &html, &hlen) == 0);
    char *h = html ? realloc(html, hlen + 1) : NULL;
    if (h) {
        h[hlen] = 0;
        RS_CHECK(!strncmp(h, "<!DOCTYPE html>", 15));
        RS_CHECK_EQ(s_count_str(h, "data:image/jpeg;base64,"), 8);
        RS_CHECK(strstr(h, "class=\"status ok\">Verified: "));
        RS_CHECK(strstr(h, "worn &lt;b&gt;seal&lt;/b&gt; &amp; &quot;quote&quot;"));
        RS_CHECK(!strstr(h, "<b>seal</b>"));
        RS_CHECK(strstr(h, "<b>Overridden</b> by cell"));
        RS_CHECK(strstr(h, "<td>3.25</td><td>2</td>")); /* value vs limit */
        /* a thumbnail decodes: 1024 wide at 1/8 */
        char *b = strstr(h, "data:image/jpeg;base64,");
        if (b) {
            b += strlen("data:image/jpeg;base64,");
            size_t blen = strcspn(b, "\""), bin = 0;
            uint8_t *jpg = malloc(blen);
            rv_jpeg_info_t info;
            RS_CHECK(jpg && sodium_base642bin(jpg, blen, b, blen, NULL, &bin, NULL,
                                              sodium_base64_VARIANT_ORIGINAL) == 0);
            RS_CHECK(jpg && rv_jpeg_read_header(jpg, bin, &info) == 0 && info.width == 128 &&
                     info.height == 96);
            free(jpg);
        }
        free(h);
    } else {
        free(html);
    }

    /* after tampering: exit 1, naming the record */
    char dir[160];
    s_copy(fx, tmp, "cli-tamper", dir, sizeof dir);
    RS_CHECK(s_tamper(dir, fx->dec[0], "body", s_change_route, NULL) == 0);
    snprintf(args, sizeof args, "verify --store %s", dir);
    RS_CHECK_EQ(s_run(args, &out), 1);
    snprintf(want, sizeof want, "record %lld (decision seq 1): hash does not match its body",
             (long long) fx->dec[0]);
    RS_CHECKF(out && strstr(out, want), "%s", out ? out : "");
    free(out);
    /* and the HTML report says so at the top */
    snprintf(args, sizeof args, "export --store %s --format html", dir);
    RS_CHECK_EQ(s_run(args, &out), 0);
    RS_CHECK(out && strstr(out, "class=\"status bad\">VERIFICATION FAILED: record"));
    free(out);
}

int main(void)
{
    if (sodium_init() < 0)
        return rs_test_skip("audit", "libsodium does not initialise");
    char tmp[64];
    if (fx_tmpdir(tmp, "audit") != 0)
        return rs_test_skip("audit", "no temporary directory");
    fixture_t fx;
    memset(&fx, 0, sizeof fx);
    int made = s_make(&fx, tmp);
    RS_CHECK(made == 0);
    if (made == 0) {
        test_tamper(&fx, tmp);
        const char *bin = getenv("RS_BINARY_DIR");
        snprintf(s_bin, sizeof s_bin, "%s/bin/reman-audit", bin ? bin : "build");
        if (access(s_bin, X_OK) == 0)
            test_program(&fx, tmp);
        else
            printf("audit: %s not built: the program's checks skipped\n", s_bin);
    }
    if (getenv("RS_KEEP_TMP")) /* to look at the stores and reports by hand */
        printf("audit: kept %s\n", tmp);
    else
        fx_rmrf(tmp);
    return rs_test_end("audit");
}
