/* ra_store_audit.c - the store's operators and roles, evidence files, verification of the
 * ledger and the audit queries (records of a kind or a period, the history of a core). */
#include "ra_store_priv.h"
#include "ra/ra_part.h"

#include "rv/rv_error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define D RA_STORE_DOMAIN
#define S_CHUNK 256 /* records fetched per lock */

/* --- operators and roles ------------------------------------------------------------- */

static const char *const s_roles[] = {"technician", "supervisor"};

const char *ra_role_name(ra_role_t role)
{
    return role == RA_ROLE_TECHNICIAN || role == RA_ROLE_SUPERVISOR ? s_roles[role] : "unknown";
}

int ra_role_parse(const char *name)
{
    for (int i = 0; name && i < 2; i++)
        if (strcmp(name, s_roles[i]) == 0)
            return i;
    return -1;
}

int ra_store__operator_get(ra_store_t *s, const char *id, int64_t *n, ra_role_t *role,
                           char *pin_hash, size_t size)
{
    sqlite3_stmt *st = ra_store__stmt(s, RA_SQL_OPERATOR);
    if (!st)
        return RV_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return 1;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return ra_store__sql_fail(s, rc, "reading an operator", 0);
    }
    *n = sqlite3_column_int64(st, 0);
    json_t *o = json_loads((const char *) sqlite3_column_text(st, 1), 0, NULL);
    sqlite3_reset(st);
    int r = ra_role_parse(json_string_value(json_object_get(o, "role")));
    const char *pin = json_string_value(json_object_get(o, "pin"));
    if (r < 0 || !pin || strlen(pin) >= size) {
        json_decref(o);
        return rv_fail(RV_EFORMAT, D, "record %lld (operator %s) has no role or PIN hash",
                       (long long) *n, id);
    }
    *role = (ra_role_t) r;
    snprintf(pin_hash, size, "%s", pin);
    json_decref(o);
    return RV_OK;
}

static json_t *s_operator_record(ra_store_t *s, const char *id, const char *name,
                                 ra_role_t role, const char *pin_hash)
{
    char now[32];
    ra_store__now(now);
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s}", "schema", "reman.operator/1",
                     "station", s->station, "session", (json_int_t) s->session, "id", id, "name",
                     name, "role", ra_role_name(role), "pin", pin_hash, "ts", now);
}

int ra_store__operator_cell(ra_store_t *s, const char *id)
{
    /* "!" never begins an Argon2id string: no PIN opens it */
    unsigned char r[16];
    char pin[2 + 2 * sizeof r] = "!";
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(pin + 1, sizeof pin - 1, r, sizeof r);
    json_t *o = s_operator_record(s, id, "automated cell", RA_ROLE_TECHNICIAN, pin);
    if (!o)
        return rv_fail(RV_ENOMEM, D, "out of memory");
    int rc = ra_store__append(s, "operator", o, NULL);
    json_decref(o);
    return rc;
}

static size_t s_utf8_chars(const char *t)
{
    size_t n = 0;
    for (; *t; t++)
        n += ((unsigned char) *t & 0xc0) != 0x80;
    return n;
}

int ra_store_operator_add(ra_store_t *self, const char *id, const char *name, ra_role_t role,
                          const char *pin)
{
    if (!self)
        return rv_fail(RV_EINVAL, D, "ra_store_operator_add needs a store");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: no operator added", self->dir);
    if (!ra_store__id_ok(id))
        return rv_fail(RV_EINVAL, D, "operator id \"%.80s\" is not of [A-Za-z0-9_.-], 1..%d bytes",
                       id ? id : "(none)", RA_STORE_MAX_ID - 1);
    if (!name || !name[0] || strlen(name) > 127)
        return rv_fail(RV_EINVAL, D, "operator %s needs a name of 1..127 bytes", id);
    if (role != RA_ROLE_TECHNICIAN && role != RA_ROLE_SUPERVISOR)
        return rv_fail(RV_EINVAL, D, "operator %s: unknown role %d", id, (int) role);
    if (!pin || s_utf8_chars(pin) < 4 || s_utf8_chars(pin) > 64)
        return rv_fail(RV_EINVAL, D, "operator %s: a PIN has 4..64 characters", id);
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, pin, strlen(pin), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return rv_fail(RV_ENOMEM, D, "Argon2id needs %zu MiB it could not get",
                       (size_t) crypto_pwhash_MEMLIMIT_INTERACTIVE >> 20);
    json_t *o = s_operator_record(self, id, name, role, hash);
    if (!o)
        return rv_fail(RV_EINVAL, D, "operator %s: the name is not valid UTF-8", id);
    pthread_mutex_lock(&self->lock);
    int rc = ra_store__begin(self, "adding an operator");
    if (rc == RV_OK) {
        if ((rc = ra_store__append(self, "operator", o, NULL)) == RV_OK)
            rc = ra_store__commit(self, "adding an operator");
        else
            ra_store__rollback(self);
    }
    pthread_mutex_unlock(&self->lock);
    json_decref(o);
    return rc;
}

int ra_store_operator_check(ra_store_t *self, const char *id, const char *pin, ra_role_t *role)
{
    if (!self || !pin)
        return rv_fail(RV_EINVAL, D, "ra_store_operator_check needs a store and a PIN");
    if (!ra_store__id_ok(id))
        return rv_fail(RV_EINVAL, D, "unknown operator \"%.80s\"", id ? id : "(none)");
    char hash[256];
    int64_t n = 0;
    ra_role_t r = RA_ROLE_TECHNICIAN;
    pthread_mutex_lock(&self->lock);
    int rc = ra_store__operator_get(self, id, &n, &r, hash, sizeof hash);
    pthread_mutex_unlock(&self->lock);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return rv_fail(RV_EINVAL, D, "unknown operator %s", id);
    if (hash[0] != '$')
        return rv_fail(RV_EINVAL, D, "operator %s has no PIN (an automated cell)", id);
    /* Argon2id runs without the lock */
    int ok = crypto_pwhash_str_verify(hash, pin, strlen(pin)) == 0;
    sodium_memzero(hash, sizeof hash);
    if (!ok)
        return rv_fail(RV_EINVAL, D, "wrong PIN for operator %s", id);
    if (role)
        *role = r;
    return RV_OK;
}

/* --- evidence ------------------------------------------------------------------------ */

int ra_store_evidence_path(const ra_store_t *self, const char *hex, char *path, size_t size)
{
    if (!self || !hex || strlen(hex) != 64 || !path)
        return rv_fail(RV_EINVAL, D, "an evidence path needs a store and a 64-digit SHA-256");
    int k = snprintf(path, size, "%s/evidence/%.2s/%s", self->dir, hex, hex);
    if (k < 0 || (size_t) k >= size)
        return rv_fail(RV_EINVAL, D, "the evidence path does not fit in %zu bytes", size);
    return RV_OK;
}

static int s_mkdir(const char *path, const char *parent)
{
    if (mkdir(path, 0755) == 0) {
        int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        return 0;
    }
    return errno == EEXIST ? 0 : -1;
}

static int s_evidence_fail(const char *name, int e)
{
    if (e == ENOSPC)
        return rv_fail(RV_EIO, D, "disk full writing evidence %s (nothing stored)", name);
    if (e == EFBIG)
        return rv_fail(RV_EIO, D,
                       "file size limit reached writing evidence %s (%s; nothing stored)", name,
                       strerror(e));
    if (e == EROFS || e == EACCES || e == EPERM)
        return rv_fail(RV_EIO, D, "the store is read-only: cannot write evidence %s (%s)", name,
                       strerror(e));
    return rv_fail(RV_EIO, D, "cannot write evidence %s: %s (nothing stored)", name,
                   strerror(e));
}

int ra_store_put_evidence(ra_store_t *self, const uint8_t *bytes, size_t len, char hex[65])
{
    if (!self || (!bytes && len) || !hex)
        return rv_fail(RV_EINVAL, D, "ra_store_put_evidence needs a store, bytes and hex[65]");
    if (self->mode != RA_STORE_WRITE)
        return rv_fail(RV_EINVAL, D, "%s was opened read-only: no evidence stored", self->dir);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, bytes ? bytes : (const uint8_t *) "", len);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
    char path[4096], dir[4096], top[4096], tmp[4200], name[80];
    snprintf(name, sizeof name, "evidence/%.2s/%s", hex, hex);
    if (ra_store_evidence_path(self, hex, path, sizeof path) != RV_OK)
        return RV_EINVAL;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t) sb.st_size == len)
        return RV_OK; /* content-addressed: the same name is the same bytes */
    snprintf(top, sizeof top, "%s/evidence", self->dir);
    snprintf(dir, sizeof dir, "%s/evidence/%.2s", self->dir, hex);
    if (s_mkdir(top, self->dir) != 0 || s_mkdir(dir, top) != 0)
        return s_evidence_fail(name, errno);
    unsigned char r[8];
    char rhex[17];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(rhex, sizeof rhex, r, sizeof r);
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", dir, rhex);
    /* read-only once written: evidence is never changed in place */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
    if (fd < 0)
        return s_evidence_fail(name, errno);
    size_t done = 0;
    int e = 0;
    while (done < len) {
        ssize_t k = write(fd, bytes + done, len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            e = k < 0 ? errno : ENOSPC;
            break;
        }
        done += (size_t) k;
    }
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        return s_evidence_fail(name, e);
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        e = fsync(dfd) != 0 ? errno : 0;
        close(dfd);
        if (e)
            return s_evidence_fail(name, e);
    }
    return RV_OK;
}

/* --- verification ---------------------------------------------------------------------- */

typedef struct s_cite {
    char hex[65];
    int64_t n; /* the first record citing it */
} s_cite_t;

typedef struct s_cites {
    s_cite_t *items;
    size_t count, cap;
} s_cites_t;

static int s_cite_add(s_cites_t *c, const char *hex, int64_t n)
{
    if (c->count == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        s_cite_t *p = realloc(c->items, cap * sizeof *p);
        if (!p)
            return -1;
        c->items = p;
        c->cap = cap;
    }
    snprintf(c->items[c->count].hex, 65, "%s", hex);
    c->items[c->count++].n = n;
    return 0;
}

static int s_cite_by_hex(const void *a, const void *b)
{
    const s_cite_t *x = a, *y = b;
    int c = strcmp(x->hex, y->hex);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int s_cite_by_n(const void *a, const void *b)
{
    const s_cite_t *x = a, *y = b;
    return (x->n > y->n) - (x->n < y->n);
}

static int s_bad(ra_verify_report_t *rep, int64_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_bad(ra_verify_report_t *rep, int64_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->what, sizeof rep->what, fmt, ap);
    va_end(ap);
    rep->first_bad = n;
    return rv_fail(RV_EFORMAT, D, "%s", rep->what);
}

static const char *s_schema_of(const char *kind)
{
    static const char *const map[][2] = {{"station", "reman.station/1"},
                                         {"session", "reman.session/1"},
                                         {"operator", "reman.operator/1"},
                                         {"inspection", "reman.inspection/1"},
                                         {"decision", "reman.decision/1"},
                                         {"golden", "reman.golden/1"},
                                         {"golden-check", "reman.golden-check/1"},
                                         {"upgrade-request", "reman.upgrade-request/1"},
                                         {"upgrade-refused", "reman.upgrade-refused/1"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(kind, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* The SHA-256 of a file; 0, or errno. */
static int s_file_sha256(const char *path, unsigned char out[32])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    unsigned char buf[65536];
    ssize_t k;
    while ((k = read(fd, buf, sizeof buf)) > 0)
        crypto_hash_sha256_update(&h, buf, (unsigned long long) k);
    int e = k < 0 ? errno : 0;
    close(fd);
    crypto_hash_sha256_final(&h, out);
    return e;
}

/* The ledger, record by record. */

/* An earlier record of the ledger being verified (kind and parsed body), or NULL. */
static json_t *s_earlier(sqlite3_stmt *get, int64_t n, int64_t before, const char *want_kind)
{
    sqlite3_reset(get);
    sqlite3_bind_int64(get, 1, n);
    json_t *o = NULL;
    if (n > 0 && n < before && sqlite3_step(get) == SQLITE_ROW &&
        strcmp((const char *) sqlite3_column_text(get, 0), want_kind) == 0)
        o = json_loadb((const char *) sqlite3_column_text(get, 1),
                       (size_t) sqlite3_column_bytes(get, 1), 0, NULL);
    sqlite3_reset(get);
    return o;
}

/* A part's inspection (one with "views"): the views it cites combine into what it says.
 * 0, or a description of what differs in why. */
static int s_part_holds(sqlite3_stmt *get, int64_t n, const json_t *o, char *why, size_t size)
{
    json_t *cited = json_object_get(o, "views"), *v[RA_PART_MAX_VIEWS] = {0};
    int64_t recs[RA_PART_MAX_VIEWS];
    size_t k = json_array_size(cited), got = 0;
    int bad = 0;
    if (k < 2 || k > RA_PART_MAX_VIEWS) {
        snprintf(why, size, "cites %zu views", k);
        return -1;
    }
    for (; got < k; got++) {
        recs[got] = json_integer_value(json_object_get(json_array_get(cited, got), "n"));
        if (!(v[got] = s_earlier(get, recs[got], n, "inspection"))) {
            snprintf(why, size, "view %zu (record %lld) is not an earlier inspection", got + 1,
                     (long long) recs[got]);
            bad = 1;
            break;
        }
    }
    if (!bad) {
        json_t *p = ra_part_combine(v, recs, k, why, size);
        static const char *const keys[] = {"proposal", "route", "reasons", "findings",
                                           "evidence", "views"};
        for (size_t i = 0; p && i < sizeof keys / sizeof *keys && !bad; i++)
            if (!json_equal(json_object_get(p, keys[i]), json_object_get(o, keys[i]))) {
                snprintf(why, size, "its %s is not what its views combine into", keys[i]);
                bad = 1;
            }
        bad |= !p;
        json_decref(p);
    }
    for (size_t i = 0; i < got; i++)
        json_decref(v[i]);
    return bad ? -1 : 0;
}

/* A decision that approves an upgrade request: the request is earlier, of the same
 * inspection, route and operator, and answered by another person. */
static int s_approval_holds(sqlite3_stmt *get, int64_t n, const json_t *o, char *why, size_t size)
{
    const json_t *ov = json_object_get(o, "override");
    int64_t rq = json_integer_value(json_object_get(json_object_get(ov, "request"), "n"));
    json_t *q = s_earlier(get, rq, n, "upgrade-request");
    const char *sup = json_string_value(json_object_get(ov, "supervisor"));
    int ok = q &&
             json_equal(json_object_get(json_object_get(q, "inspection"), "n"),
                        json_object_get(json_object_get(o, "inspection"), "n")) &&
             json_equal(json_object_get(q, "route"), json_object_get(o, "route")) &&
             json_equal(json_object_get(q, "operator"), json_object_get(o, "operator")) &&
             json_equal(json_object_get(q, "id"),
                        json_object_get(json_object_get(ov, "request"), "id")) &&
             sup && strcmp(sup, json_string_value(json_object_get(q, "operator"))) != 0;
    if (!ok)
        snprintf(why, size, "the upgrade request %lld it approves %s", (long long) rq,
                 q ? "names another inspection, route or operator, or its asker approved it"
                   : "is not an earlier upgrade request");
    json_decref(q);
    return ok ? 0 : -1;
}

static int s_verify_chain(ra_store_t *s, sqlite3 *db, const unsigned char *pub_file,
                          ra_verify_report_t *rep, s_cites_t *cites)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        db, "SELECT n, kind, ts, body, prev, hash, sig FROM records ORDER BY n", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return rv_fail(RV_EFORMAT, D, "%s: cannot read the ledger: %s", s->db_path,
                       sqlite3_errmsg(db));
    }
    sqlite3_stmt *get = NULL;
    if (sqlite3_prepare_v2(db, "SELECT kind, body FROM records WHERE n = ?1", -1, &get, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(st);
        return rv_fail(RV_EFORMAT, D, "%s: cannot read the ledger: %s", s->db_path,
                       sqlite3_errmsg(db));
    }
    unsigned char last[32] = {0}, key[32];
    int64_t expect = 1;
    uint64_t seq = 0;
    rc = RV_OK;
    int step;
    while (rc == RV_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 0);
        const char *kind = (const char *) sqlite3_column_text(st, 1);
        const char *ts = (const char *) sqlite3_column_text(st, 2);
        const unsigned char *body = sqlite3_column_text(st, 3);
        size_t blen = (size_t) sqlite3_column_bytes(st, 3);
        const unsigned char *prev = sqlite3_column_blob(st, 4);
        int plen = sqlite3_column_bytes(st, 4);
        const unsigned char *hash = sqlite3_column_blob(st, 5);
        int hlen = sqlite3_column_bytes(st, 5);
        const unsigned char *sig = sqlite3_column_blob(st, 6);
        int slen = sqlite3_column_bytes(st, 6);
        rep->records++;
        if (n != expect) {
            rc = expect == 1 ? s_bad(rep, 1, "record 1: missing (the ledger starts at %lld)",
                                     (long long) n)
                             : s_bad(rep, expect,
                                     "record %lld: missing (record %lld is followed by %lld): "
                                     "deleted from the ledger",
                                     (long long) expect, (long long) expect - 1, (long long) n);
            break;
        }
        expect++;
        json_t *o = body ? json_loadb((const char *) body, blen, 0, NULL) : NULL;
        char label[64];
        if (kind && strcmp(kind, "decision") == 0 && json_is_integer(json_object_get(o, "seq")))
            snprintf(label, sizeof label, " (decision seq %lld)",
                     (long long) json_integer_value(json_object_get(o, "seq")));
        else
            snprintf(label, sizeof label, " (%.20s)", kind ? kind : "no kind");
        long long ln = (long long) n;
        if (plen != 32 || hlen != 32 || slen != 64)
            rc = s_bad(rep, n, "record %lld%s: prev, hash or sig has the wrong length", ln, label);
        else if (memcmp(prev, last, 32) != 0)
            rc = n == 1 ? s_bad(rep, n, "record 1%s: prev is not 32 zero bytes", label)
                        : s_bad(rep, n,
                                "record %lld%s: prev does not match the hash of record %lld (the "
                                "chain is broken)",
                                ln, label, ln - 1);
        if (rc == RV_OK) {
            unsigned char h[32];
            crypto_hash_sha256_state hs;
            crypto_hash_sha256_init(&hs);
            crypto_hash_sha256_update(&hs, prev, 32);
            crypto_hash_sha256_update(&hs, body ? body : (const unsigned char *) "", blen);
            crypto_hash_sha256_final(&hs, h);
            if (memcmp(h, hash, 32) != 0)
                rc = s_bad(rep, n,
                           "record %lld%s: hash does not match its body (changed after it was "
                           "written)",
                           ln, label);
        }
        if (rc == RV_OK && n == 1) { /* the station record holds the key */
            const char *k = json_string_value(json_object_get(o, "public_key"));
            size_t bin = 0;
            if (!kind || strcmp(kind, "station") != 0 || !k || strlen(k) != 64 ||
                sodium_hex2bin(key, sizeof key, k, 64, NULL, &bin, NULL) != 0 || bin != 32)
                rc = s_bad(rep, 1, "record 1: not a station record with a public key");
            else if (memcmp(key, pub_file, 32) != 0)
                rc = s_bad(rep, 1,
                           "station.pub does not match the public key in record 1 (replaced?)");
        }
        if (rc == RV_OK && crypto_sign_verify_detached(sig, hash, 32, key) != 0)
            rc = s_bad(rep, n, "record %lld%s: signature does not verify with the station key", ln,
                       label);
        if (rc == RV_OK) {
            const char *schema = json_string_value(json_object_get(o, "schema"));
            const char *bts = json_string_value(json_object_get(o, "ts"));
            const char *want = kind ? s_schema_of(kind) : NULL;
            if (!o)
                rc = s_bad(rep, n, "record %lld%s: body is not JSON", ln, label);
            else if (!want || !schema || strcmp(want, schema) != 0)
                rc = s_bad(rep, n, "record %lld: kind \"%.20s\" does not match its body (%.40s)",
                           ln, kind ? kind : "", schema ? schema : "no schema");
            else if (!ts || !bts || strcmp(ts, bts) != 0)
                rc = s_bad(rep, n, "record %lld%s: ts column does not match its body", ln, label);
        }
        if (rc == RV_OK && strcmp(kind, "decision") == 0) {
            json_t *q = json_object_get(o, "seq");
            if (!json_is_integer(q) || (uint64_t) json_integer_value(q) != seq + 1)
                rc = s_bad(rep, n, "record %lld%s: seq does not follow %llu", ln, label,
                           (unsigned long long) seq);
            seq++;
            char why[300];
            if (rc == RV_OK &&
                json_object_get(json_object_get(o, "override"), "request") &&
                s_approval_holds(get, n, o, why, sizeof why) != 0)
                rc = s_bad(rep, n, "record %lld%s: %s", ln, label, why);
        }
        if (rc == RV_OK && strcmp(kind, "inspection") == 0 && json_object_get(o, "views")) {
            char why[300];
            if (s_part_holds(get, n, o, why, sizeof why) != 0)
                rc = s_bad(rep, n, "record %lld (a part's inspection): %s", ln, why);
        }
        if (rc == RV_OK && strcmp(kind, "inspection") == 0) {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(o, "evidence"), i, e)
            {
                const char *hex = json_string_value(json_object_get(e, "sha256"));
                if (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
                    rc = s_bad(rep, n, "record %lld%s: evidence %zu has no SHA-256", ln, label, i);
                else if (s_cite_add(cites, hex, n) != 0)
                    rc = rv_fail(RV_ENOMEM, D, "out of memory");
                if (rc != RV_OK)
                    break;
            }
        }
        json_decref(o);
        if (rc == RV_OK)
            memcpy(last, hash, 32);
    }
    if (rc == RV_OK && step != SQLITE_DONE)
        rc = rv_fail(RV_EFORMAT, D, "%s: reading the ledger failed: %s", s->db_path,
                     sqlite3_errmsg(db));
    if (rc == RV_OK && rep->records == 0)
        rc = s_bad(rep, 1, "record 1: missing (the ledger is empty)");
    sqlite3_finalize(get);
    sqlite3_finalize(st);
    return rc;
}

static int s_verify_evidence(ra_store_t *s, ra_verify_report_t *rep, s_cites_t *c)
{
    if (!c->count)
        return RV_OK;
    /* one check per file, in the order of first citation */
    qsort(c->items, c->count, sizeof *c->items, s_cite_by_hex);
    size_t u = 0;
    for (size_t i = 0; i < c->count; i++)
        if (u == 0 || strcmp(c->items[u - 1].hex, c->items[i].hex) != 0)
            c->items[u++] = c->items[i];
    c->count = u;
    qsort(c->items, c->count, sizeof *c->items, s_cite_by_n);
    for (size_t i = 0; i < c->count; i++) {
        const char *hex = c->items[i].hex;
        char path[4096];
        unsigned char h[32], want[32];
        ra_store_evidence_path(s, hex, path, sizeof path);
        int e = s_file_sha256(path, h);
        rep->evidence++;
        if (e == ENOENT)
            return s_bad(rep, c->items[i].n, "evidence/%.2s/%s cited by record %lld: missing", hex,
                         hex, (long long) c->items[i].n);
        if (e)
            return s_bad(rep, c->items[i].n, "evidence/%.2s/%s cited by record %lld: %s", hex, hex,
                         (long long) c->items[i].n, strerror(e));
        sodium_hex2bin(want, sizeof want, hex, 64, NULL, NULL, NULL);
        if (memcmp(h, want, 32) != 0)
            return s_bad(rep, c->items[i].n,
                         "evidence/%.2s/%s: SHA-256 does not match its name (cited by record "
                         "%lld)",
                         hex, hex, (long long) c->items[i].n);
    }
    return RV_OK;
}

int ra_store_verify(ra_store_t *self, ra_verify_report_t *report)
{
    ra_verify_report_t local;
    ra_verify_report_t *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    if (!self)
        return rv_fail(RV_EINVAL, D, "ra_store_verify needs a store");
    char path[4096], pub[200];
    unsigned char pk[32];
    size_t bin = 0;
    snprintf(path, sizeof path, "%s/station.pub", self->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t k = fd >= 0 ? read(fd, pub, sizeof pub - 1) : -1;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (k < 0)
        return s_bad(rep, 0, "station.pub: %s", strerror(e));
    pub[k] = 0;
    pub[strcspn(pub, "\r\n ")] = 0;
    if (strlen(pub) != 64 || sodium_hex2bin(pk, sizeof pk, pub, 64, NULL, &bin, NULL) != 0 ||
        bin != 32)
        return s_bad(rep, 1, "station.pub: not a public key (64 hex digits)");
    /* a connection of its own, in one read transaction: a snapshot, and the handle's lock
     * is not held while thousands of signatures are checked */
    sqlite3 *db = NULL;
    int rc = ra_store__open_db(self->db_path, 1, self->immutable, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        rc = rv_fail(RV_EIO, D, "cannot open %s to verify: %s", self->db_path,
                     db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close_v2(db);
        return rc;
    }
    s_cites_t cites = {0};
    rc = s_verify_chain(self, db, pk, rep, &cites);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close_v2(db);
    if (rc == RV_OK)
        rc = s_verify_evidence(self, rep, &cites);
    free(cites.items);
    return rc;
}

/* --- audit queries --------------------------------------------------------------------- */

typedef struct s_row {
    int64_t n;
    char kind[16];
    char *body;
    size_t len;
} s_row_t;

/* Run sql (?1 = after n, ?2 = limit, ?3.. = params) chunk by chunk, the lock held only
 * while a chunk is read; fn runs without it. */
static int s_walk(ra_store_t *s, const char *sql, const char *const *params, int nparams,
                  ra_store_record_fn fn, void *arg)
{
    s_row_t *rows = malloc(S_CHUNK * sizeof *rows);
    if (!rows)
        return rv_fail(RV_ENOMEM, D, "out of memory");
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->lock);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    pthread_mutex_unlock(&s->lock);
    if (rc != SQLITE_OK) {
        free(rows);
        return ra_store__sql_fail(s, rc, "reading records", 0);
    }
    int64_t after = 0;
    int stop = 0;
    rc = RV_OK;
    while (!stop && rc == RV_OK) {
        size_t count = 0;
        pthread_mutex_lock(&s->lock);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int64(st, 2, S_CHUNK);
        for (int i = 0; i < nparams; i++)
            if (params[i])
                sqlite3_bind_text(st, 3 + i, params[i], -1, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, 3 + i);
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            s_row_t *r = &rows[count];
            r->n = sqlite3_column_int64(st, 0);
            snprintf(r->kind, sizeof r->kind, "%s", (const char *) sqlite3_column_text(st, 1));
            r->len = (size_t) sqlite3_column_bytes(st, 2);
            if (!(r->body = malloc(r->len + 1))) {
                step = SQLITE_NOMEM;
                break;
            }
            memcpy(r->body, sqlite3_column_text(st, 2), r->len);
            r->body[r->len] = 0;
            count++;
        }
        if (step != SQLITE_DONE)
            rc = ra_store__sql_fail(s, step, "reading records", 0);
        sqlite3_reset(st);
        pthread_mutex_unlock(&s->lock);
        for (size_t i = 0; i < count; i++) {
            if (rc == RV_OK && !stop && fn(arg, rows[i].n, rows[i].kind, rows[i].body,
                                           rows[i].len) != 0)
                stop = 1;
            after = rows[i].n;
            free(rows[i].body);
        }
        if (count < S_CHUNK)
            break;
    }
    pthread_mutex_lock(&s->lock);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    free(rows);
    return rc;
}

/* "2026-11-23", "2026-11-23T18", ... "2026-11-23T18:50:01.123Z". */
static int s_time_ok(const char *t)
{
    static const char pat[] = "dddd-dd-dd";
    if (!t)
        return 1;
    size_t n = strlen(t);
    if (n < 10 || n > 31)
        return 0;
    for (size_t i = 0; i < 10; i++)
        if (pat[i] == 'd' ? !(t[i] >= '0' && t[i] <= '9') : t[i] != pat[i])
            return 0;
    return strspn(t + 10, "0123456789T:.Z") == n - 10;
}

int ra_store_records(ra_store_t *self, const char *kind, const char *from, const char *to,
                     ra_store_record_fn fn, void *arg)
{
    if (!self || !fn)
        return rv_fail(RV_EINVAL, D, "ra_store_records needs a store and a callback");
    if (!s_time_ok(from) || !s_time_ok(to))
        return rv_fail(RV_EINVAL, D,
                       "from/to must be ISO dates or times (YYYY-MM-DD[THH:MM:SS[.mmm]Z]), not "
                       "\"%.40s\"",
                       s_time_ok(from) ? to : from);
    const char *params[3] = {kind, from, to};
    return s_walk(self,
                  "SELECT n, kind, body FROM records WHERE n > ?1"
                  " AND (?3 IS NULL OR kind = ?3) AND (?4 IS NULL OR ts >= ?4)"
                  " AND (?5 IS NULL OR substr(ts, 1, length(?5)) <= ?5) ORDER BY n LIMIT ?2",
                  params, 3, fn, arg);
}

int ra_store_history(ra_store_t *self, const char *serial, ra_store_record_fn fn, void *arg)
{
    if (!self || !fn || !serial || !serial[0])
        return rv_fail(RV_EINVAL, D, "ra_store_history needs a store, a serial and a callback");
    const char *params[1] = {serial};
    return s_walk(self,
                  "SELECT n, kind, body FROM (SELECT n, kind, body FROM records"
                  " WHERE kind = 'inspection' AND json_extract(body, '$.code.serial') = ?3"
                  " UNION ALL SELECT n, kind, body FROM records"
                  " WHERE kind = 'decision' AND json_extract(body, '$.serial') = ?3"
                  " UNION ALL SELECT n, kind, body FROM records"
                  " WHERE kind IN ('upgrade-request', 'upgrade-refused')"
                  " AND json_extract(body, '$.serial') = ?3)"
                  " WHERE n > ?1 ORDER BY n LIMIT ?2",
                  params, 1, fn, arg);
}

int ra_store_upgrade_requests(ra_store_t *self, ra_store_record_fn fn, void *arg)
{
    if (!self || !fn)
        return rv_fail(RV_EINVAL, D, "ra_store_upgrade_requests needs a store and a callback");
    /* waiting: no decision of its inspection and no later request for it, no refusal */
    return s_walk(self,
                  "SELECT q.n, q.kind, q.body FROM records q WHERE q.kind = 'upgrade-request'"
                  " AND q.n > ?1 AND NOT EXISTS (SELECT 1 FROM records d"
                  " WHERE d.n > q.n AND d.kind IN ('decision', 'upgrade-request')"
                  " AND json_extract(d.body, '$.inspection.n') ="
                  " json_extract(q.body, '$.inspection.n'))"
                  " AND NOT EXISTS (SELECT 1 FROM records a WHERE a.kind = 'upgrade-refused'"
                  " AND json_extract(a.body, '$.request.n') = q.n)"
                  " ORDER BY q.n LIMIT ?2",
                  NULL, 0, fn, arg);
}
