/* test_registry.c - a folder of families: the shipped folder, lookup by part number
 * (case, wildcards, no match, ambiguity), and folders that must be refused whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rm/rm_family.h"
#include "rm/rm_registry.h"
#include "rs_test.h"
#include "rv/rv_error.h"

static const char *s_src(void)
{
    const char *s = getenv("RS_SOURCE_DIR");
    return s ? s : ".";
}

/* A minimal family with an id and one part-number pattern. */
static void s_write_family(const char *dir, const char *file, const char *id,
                           const char *pattern)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return;
    fprintf(fp,
            "{\"schema\": \"reman.family/1\", \"id\": \"%s\", \"name\": \"%s\", "
            "\"revision\": 1,\n"
            " \"part_numbers\": [\"%s\"],\n"
            " \"views\": [{\"name\": \"v\", \"width\": 10, \"height\": 10}],\n"
            " \"calibration\": {\"mm_per_px\": 1},\n"
            " \"zones\": [{\"name\": \"z\", \"criticality\": \"critical\",\n"
            "            \"polygon\": [[0, 0], [10, 0], [10, 10]]}],\n"
            " \"routes\": [\"reuse\", \"scrap\"], \"rules\": [],\n"
            " \"economics\": {\"mass_kg\": 1, \"co2e_kg\": 2}}\n",
            id, id, pattern);
    fclose(fp);
}

static void s_write_text(const char *dir, const char *file, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *fp = fopen(path, "w");
    if (fp) {
        fputs(text, fp);
        fclose(fp);
    }
}

static void s_remove(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    remove(path);
}

static void test_shipped(void)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/models/families", s_src());
    rm_registry_t *reg = rm_registry_load_dir(dir);
    RS_CHECKF(reg != NULL, "%s", rv_last_error());
    if (!reg)
        return;
    RS_CHECK_EQ(rm_registry_count(reg), 4);
    /* name order */
    RS_CHECK(strcmp(rm_family_id(rm_registry_at(reg, 0)), "cast-impeller") == 0);
    RS_CHECK(strcmp(rm_family_id(rm_registry_at(reg, 3)), "demo-shaft") == 0);
    RS_CHECK(rm_registry_at(reg, 4) == NULL);
    RS_CHECK(rm_registry_get(reg, "demo-housing") != NULL);
    RS_CHECK(rm_registry_get(reg, "nope") == NULL);
    static const struct {
        const char *pn, *id;
    } hits[] = {
        {"BRK-DISC-300", "demo-disc"},     {"brk-disc-300", "demo-disc"},
        {"TRB-HSG-260", "demo-housing"},   {"SHF-STEP-420", "demo-shaft"},
        {"IMP-CAST-0042", "cast-impeller"}, {"BRK-DISC-350", "demo-disc"},
    };
    for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++) {
        rm_family_t *f = NULL;
        int rc = rm_registry_find(reg, hits[i].pn, &f);
        RS_CHECKF(rc == RV_OK && f && strcmp(rm_family_id(f), hits[i].id) == 0, "%s: %s",
                  hits[i].pn, rv_last_error());
        rm_family_destroy(&f);
    }
    rm_family_t *f = (rm_family_t *) 1;
    RS_CHECK(rm_registry_find(reg, "BRK-DISC-30", &f) == RV_EINVAL && f == NULL);
    RS_CHECK_MSG(rv_last_error(), "no family for part number \"BRK-DISC-30\"");
    RS_CHECK(rm_registry_find(reg, "", &f) == RV_EINVAL);
    RS_CHECK(rm_registry_find(reg, NULL, &f) == RV_EINVAL);
    /* a reference outlives the registry */
    RS_CHECK(rm_registry_find(reg, "SHF-STEP-420", &f) == RV_OK);
    rm_registry_destroy(&reg);
    RS_CHECK(reg == NULL);
    RS_CHECK(f && strcmp(rm_family_id(f), "demo-shaft") == 0 && rm_family_zone_count(f) == 6);
    rm_family_destroy(&f);
    rm_registry_destroy(&reg);
}

static void test_folders(void)
{
    char dir[] = "/tmp/rm-registry-XXXXXX";
    if (!mkdtemp(dir)) {
        RS_CHECK(!"mkdtemp");
        return;
    }
    /* empty folder: a registry of nothing */
    rm_registry_t *reg = rm_registry_load_dir(dir);
    RS_CHECK(reg && rm_registry_count(reg) == 0);
    rm_family_t *f = NULL;
    RS_CHECK(rm_registry_find(reg, "AMB-100", &f) == RV_EINVAL);
    rm_registry_destroy(&reg);

    /* overlapping patterns: a part number both match is refused, others are found */
    s_write_family(dir, "a.json", "fam-a", "AMB-*");
    s_write_family(dir, "b.json", "fam-b", "AMB-1??");
    s_write_text(dir, "notes.txt", "not a family");
    s_write_text(dir, ".hidden.json", "{ broken");
    reg = rm_registry_load_dir(dir);
    RS_CHECKF(reg && rm_registry_count(reg) == 2, "%s", rv_last_error());
    RS_CHECK(rm_registry_find(reg, "AMB-100", &f) == RV_EFORMAT && f == NULL);
    RS_CHECK_MSG(rv_last_error(), "part number \"AMB-100\" is ambiguous: fam-a, fam-b");
    RS_CHECK(rm_registry_find(reg, "AMB-2", &f) == RV_OK && f &&
             strcmp(rm_family_id(f), "fam-a") == 0);
    rm_family_destroy(&f);
    rm_registry_destroy(&reg);

    /* the same id twice: refused, naming both files */
    s_write_family(dir, "c.json", "fam-a", "CCC-*");
    RS_CHECK(rm_registry_load_dir(dir) == NULL);
    RS_CHECK_MSG(rv_last_error(), "c.json: family id \"fam-a\" is also");
    RS_CHECK_MSG(rv_last_error(), "a.json");
    s_remove(dir, "c.json");

    /* one bad file refuses the folder, with the file, path and line */
    s_write_text(dir, "bad.json",
                 "{\"schema\": \"reman.family/1\", \"id\": \"x\", \"name\": \"x\",\n"
                 " \"revision\": 1, \"part_numbers\": [\"X\"],\n"
                 " \"views\": [{\"name\": \"v\", \"width\": 10, \"height\": 10}],\n"
                 " \"calibration\": {\"mm_per_px\": 1},\n"
                 " \"zones\": [{\"name\": \"z\", \"criticality\": \"critical\",\n"
                 "            \"polygon\": [[0, 0], [10, 0]]}],\n"
                 " \"routes\": [\"scrap\"], \"rules\": [],\n"
                 " \"economics\": {\"mass_kg\": 1, \"co2e_kg\": 2}}\n");
    RS_CHECK(rm_registry_load_dir(dir) == NULL);
    RS_CHECK_MSG(rv_last_error(), "bad.json: zones[0].polygon: needs at least 3 points (line 6)");
    s_remove(dir, "bad.json");

    s_remove(dir, "a.json");
    s_remove(dir, "b.json");
    s_remove(dir, "notes.txt");
    s_remove(dir, ".hidden.json");
    RS_CHECK(rmdir(dir) == 0);
    RS_CHECK(rm_registry_load_dir(dir) == NULL);
    RS_CHECK_MSG(rv_last_error(), "rm_registry: /tmp/rm-registry-");
    RS_CHECK(rm_registry_load_dir(NULL) == NULL);
}

int main(void)
{
    test_shipped();
    test_folders();
    return rs_test_end("test_registry");
}
