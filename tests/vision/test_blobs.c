/* test_blobs.c - run-based connected components against a brute-force flood fill. */
#include "rs_test.h"
#include "rv/rv_blobs.h"
#include "rv/rv_error.h"
#include "rv/rv_image.h"

/* Reference: label by iterative flood fill; returns the number of components and fills
 * area and bbox per label in raster order of first pixel. */
static int s_flood(const rv_view_t *m, int conn, int *labels, uint32_t *area, int *bbox)
{
    int w = m->width, h = m->height, n = 0;
    int *stack = malloc(sizeof(int) * (size_t) w * h);
    for (int i = 0; i < w * h; i++)
        labels[i] = -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            if (!rv_view_row(m, y)[x] || labels[y * w + x] >= 0)
                continue;
            int sp = 0;
            stack[sp++] = y * w + x;
            labels[y * w + x] = n;
            area[n] = 0;
            bbox[4 * n] = w, bbox[4 * n + 1] = h, bbox[4 * n + 2] = -1, bbox[4 * n + 3] = -1;
            while (sp) {
                int p = stack[--sp], px = p % w, py = p / w;
                area[n]++;
                if (px < bbox[4 * n]) bbox[4 * n] = px;
                if (py < bbox[4 * n + 1]) bbox[4 * n + 1] = py;
                if (px > bbox[4 * n + 2]) bbox[4 * n + 2] = px;
                if (py > bbox[4 * n + 3]) bbox[4 * n + 3] = py;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) {
                        if ((!dx && !dy) || (conn == 4 && dx && dy))
                            continue;
                        int qx = px + dx, qy = py + dy;
                        if (qx < 0 || qy < 0 || qx >= w || qy >= h)
                            continue;
                        if (rv_view_row(m, qy)[qx] && labels[qy * w + qx] < 0) {
                            labels[qy * w + qx] = n;
                            stack[sp++] = qy * w + qx;
                        }
                    }
            }
            n++;
        }
    free(stack);
    return n;
}

static void s_compare(const rv_view_t *m, int conn)
{
    int w = m->width, h = m->height;
    int *labels = malloc(sizeof(int) * (size_t) w * h);
    uint32_t *area = malloc(sizeof(uint32_t) * (size_t) w * h);
    int *bbox = malloc(sizeof(int) * 4 * (size_t) w * h);
    int n = s_flood(m, conn, labels, area, bbox);
    rv_blobs_t b;
    RS_CHECK_EQ(rv_components(m, conn, 0, &b), RV_OK);
    RS_CHECKF((int) b.count == n, "%dx%d conn %d: %zu components, flood fill finds %d", w, h, conn,
              b.count, n);
    for (int i = 0; i < n && i < (int) b.count; i++) {
        RS_CHECK_EQ(b.items[i].area, area[i]);
        RS_CHECK_EQ(b.items[i].x0, bbox[4 * i]);
        RS_CHECK_EQ(b.items[i].y0, bbox[4 * i + 1]);
        RS_CHECK_EQ(b.items[i].x1, bbox[4 * i + 2]);
        RS_CHECK_EQ(b.items[i].y1, bbox[4 * i + 3]);
    }
    /* every run belongs to the component the flood fill gives its first pixel */
    for (size_t r = 0; r < b.nruns; r++) {
        const rv_run_t *run = &b.runs[r];
        RS_CHECK_EQ((int) run->blob, labels[run->y * w + run->x0]);
    }
    rv_blobs_free(&b);
    free(labels);
    free(area);
    free(bbox);
}

/* rv_fill_holes: a ring with a slot-shaped hole (a keyway seen from above), a notch open
 * to the border, and a hole that touches the border: only the enclosed slot is filled
 * (checked against a flood fill of the zeros from the border), on the whole image and on a
 * region of interest whose border cuts the notch's region */
static void s_test_fill_holes(void)
{
    rv_image_t *img = rv_image_new(60, 40, RV_GRAY8);
    rv_view_t v = rv_image_view(img);
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 60; x++) {
            int part = x >= 5 && x < 55 && y >= 5 && y < 35;
            int slot = x >= 15 && x < 40 && y >= 15 && y < 20; /* enclosed */
            int notch = x >= 45 && x < 50 && y >= 25;          /* open to the lower edge */
            rv_view_row(&v, y)[x] = part && !slot && !notch ? 255 : 0;
        }
    RS_CHECK_EQ(rv_fill_holes(&v), RV_OK);
    int slot_part = 0, notch_part = 0, outside_part = 0;
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 60; x++) {
            int on = rv_view_row(&v, y)[x] != 0;
            slot_part += on && x >= 15 && x < 40 && y >= 15 && y < 20;
            notch_part += on && x >= 45 && x < 50 && y >= 25;
            outside_part += on && !(x >= 5 && x < 55 && y >= 5 && y < 35);
        }
    printf("fill holes: slot %d of 125 px filled, notch %d, outside %d\n", slot_part,
           notch_part, outside_part);
    RS_CHECK_EQ(slot_part, 125);
    RS_CHECK_EQ(notch_part, 0);
    RS_CHECK_EQ(outside_part, 0);
    /* a region of interest: the part's left half, its slot cut by the roi's right edge,
     * so the slot's zeros reach the roi's border and stay */
    for (int y = 15; y < 20; y++)
        for (int x = 15; x < 40; x++)
            rv_view_row(&v, y)[x] = 0;
    rv_view_t roi;
    rv_view_roi(&v, 0, 0, 30, 40, &roi);
    RS_CHECK_EQ(rv_fill_holes(&roi), RV_OK);
    RS_CHECK_EQ(rv_view_row(&v, 17)[20], 0);
    rv_view_roi(&v, 0, 0, 60, 40, &roi);
    RS_CHECK_EQ(rv_fill_holes(&roi), RV_OK);
    RS_CHECK_EQ(rv_view_row(&v, 17)[20], 255);
    RS_CHECK(rv_fill_holes(NULL) == RV_EINVAL);
    rv_image_destroy(&img);
}

int main(void)
{
    s_test_fill_holes();
    uint64_t seed = 42;
    int sizes[][2] = {{1, 1}, {1, 9}, {9, 1}, {17, 13}, {64, 3}, {101, 77}, {300, 200}};
    for (int s = 0; s < 7; s++) {
        for (int density = 1; density <= 3; density++) {
            rv_image_t *img = rv_image_new(sizes[s][0], sizes[s][1], RV_GRAY8);
            rv_view_t v = rv_image_view(img);
            for (int y = 0; y < v.height; y++)
                for (int x = 0; x < v.width; x++)
                    rv_view_row(&v, y)[x] = (rs_rand(&seed) % 4) < (uint64_t) density ? 255 : 0;
            s_compare(&v, 4);
            s_compare(&v, 8);
            /* a region of interest with a stride wider than its width */
            if (v.width > 4 && v.height > 4) {
                rv_view_t roi;
                rv_view_roi(&v, 2, 1, v.width - 3, v.height - 2, &roi);
                s_compare(&roi, 8);
            }
            rv_image_destroy(&img);
        }
    }

    /* the row scans read eight bytes at a time: sparse and dense masks whose set bytes are
     * any non-zero value (1, 0x7f, 0x80, 0x81, 0xfe, 0xff: a word's zero-byte test must not
     * take a byte borrowed into for zero), of widths around the word sizes, at offsets */
    static const uint8_t vals[] = {1, 0x7f, 0x80, 0x81, 0xfe, 0xff};
    for (int wdt = 1; wdt <= 131; wdt += (wdt < 70 ? 1 : 13))
        for (int mode = 0; mode < 3; mode++) {
            rv_image_t *img = rv_image_new(wdt + 11, 9, RV_GRAY8);
            rv_view_t full = rv_image_view(img), v;
            for (int y = 0; y < full.height; y++)
                for (int x = 0; x < full.width; x++) {
                    uint64_t r = rs_rand(&seed);
                    /* mode 0: one in 40 set; 1: runs of set bytes; 2: one in 40 clear */
                    int set = mode == 0 ? r % 40 == 0 : mode == 1 ? (x / 5 + y) % 3 != 0
                                                                   : r % 40 != 0;
                    rv_view_row(&full, y)[x] = set ? vals[(r >> 8) % 6] : 0;
                }
            for (int off = 0; off < 11; off += 5) {
                rv_view_roi(&full, off, 0, wdt, full.height, &v);
                s_compare(&v, 4);
                s_compare(&v, 8);
            }
            rv_image_destroy(&img);
        }

    /* shapes: a ring (one component with a hole), a diagonal line (8- but not 4-connected),
     * a U (merges late), centroid of a rectangle */
    rv_image_t *img = rv_image_new_filled(60, 40, RV_GRAY8, 0);
    rv_view_t v = rv_image_view(img);
    for (int i = 0; i < 30; i++)
        rv_view_row(&v, 5 + i)[5 + i] = 255;
    rv_blobs_t b;
    RS_CHECK_EQ(rv_components(&v, 8, 0, &b), RV_OK);
    RS_CHECK_EQ(b.count, 1);
    rv_blobs_free(&b);
    RS_CHECK_EQ(rv_components(&v, 4, 0, &b), RV_OK);
    RS_CHECK_EQ(b.count, 30);
    rv_blobs_free(&b);
    RS_CHECK_EQ(rv_components(&v, 4, 2, &b), RV_OK);
    RS_CHECK_EQ(b.count, 0);
    RS_CHECK_EQ(b.dropped, 30);
    rv_blobs_free(&b);

    rv_view_fill(&v, 0);
    for (int y = 10; y < 30; y++)
        for (int x = 40; x < 50; x++)
            rv_view_row(&v, y)[x] = 1;
    for (int y = 10; y < 30; y++) { /* a U: two legs joined at the bottom */
        rv_view_row(&v, y)[5] = 9;
        rv_view_row(&v, y)[15] = 9;
    }
    for (int x = 5; x <= 15; x++)
        rv_view_row(&v, 30)[x] = 9;
    RS_CHECK_EQ(rv_components(&v, 8, 0, &b), RV_OK);
    RS_CHECK_EQ(b.count, 2);
    if (b.count == 2) {
        RS_CHECK_EQ(b.items[0].area, 20 + 20 + 11);
        RS_CHECK_EQ(b.items[1].area, 200);
        RS_CHECK(b.items[1].cx > 44.49 && b.items[1].cx < 44.51);
        RS_CHECK(b.items[1].cy > 19.49 && b.items[1].cy < 19.51);
    }
    rv_blobs_free(&b);

    RS_CHECK_EQ(rv_components(&v, 6, 0, &b), RV_EINVAL);
    RS_CHECK_MSG(rv_last_error(), "connectivity 6");
    rv_image_destroy(&img);
    rv_image_t *rgb = rv_image_new(4, 4, RV_RGB8);
    rv_view_t rv = rv_image_view(rgb);
    RS_CHECK_EQ(rv_components(&rv, 8, 0, &b), RV_EINVAL);
    rv_image_destroy(&rgb);
    return rs_test_end("vision.blobs");
}
