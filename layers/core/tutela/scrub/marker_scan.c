/* The next real marker in JPEG entropy-coded data, at memchr speed: the one pass over every photo's pixel
 * bytes (tutela/scrub/ecs.py loads it with ctypes; without it the same answer comes from Python).
 *
 * Returns the first offset i in [pos, n - 1) where buf[i] is 0xFF and buf[i + 1] is not 00 (stuffing),
 * D0-D7 (restart) or FF (fill), i.e. exactly where ecs.ECS_MARKER.search(buf, pos) matches; -1 if none.
 * Reads only buf[pos .. n - 1]; linear in n - pos for any input (each step moves past one 0xFF). Plain C,
 * no Python headers: one build serves every CPython version on the architecture it was compiled for. */
#include <string.h>
#include <sys/types.h>

ssize_t tutela_find_marker(const unsigned char *buf, ssize_t n, ssize_t pos) {
    if (buf == NULL) return -1;
    if (pos < 0) pos = 0; /* as re's search treats a negative start */
    while (pos + 1 < n) {
        const unsigned char *p = memchr(buf + pos, 0xFF, (size_t)(n - 1 - pos));
        if (p == NULL) return -1;
        ssize_t i = p - buf;
        unsigned char c = buf[i + 1];
        if (c != 0x00 && c != 0xFF && (c < 0xD0 || c > 0xD7)) return i;
        pos = i + 1;
    }
    return -1;
}
