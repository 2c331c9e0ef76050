/* hetsock._native: the accepted-270 path in C, for the common case only.
 *
 * The Python code (hetsock/pipeline.py and what it calls) is the reference; this module answers
 * byte for byte as it does, or declines. hetsock/native.py is the only caller:
 *
 *   scan(text, element, segment, component, repetition, group_ids_match, service_types)
 *       text is an interchange that fastpath's interchange expression has already matched (so
 *       the shape, lengths, code values and character set hold). Checks what the expression
 *       cannot (fastpath.accept_interchange_fast after the match, and _tag_and_check's facts)
 *       and returns the values the 271 needs as a tuple, or None to decline.
 *
 *   render(scanned, doc, params)
 *       doc is the store's document for the MBI sent, as stored (the orjson bytes: read here
 *       by a strict reader, see "the stored document, read in place"); params are
 *       the reply's dates, control numbers and the inquiry window. Applies decide()'s rules
 *       for the case where every one of them passes with nothing to correct, and writes the
 *       271 as reply271.render_271 does; returns bytes, or None to decline.
 *
 * Declining is always safe: the caller then answers through the Python path, which decides
 * every rejection (TA1, 999, AAA, proprietary) and every unusual shape. So this code declines
 * whenever it is not certain: a segment other than ST BHT HL NM1 TRN DMG DTP EQ SE, a value
 * that is not ASCII, a record row of an unexpected shape, any name or birth-date difference,
 * an MBI found as an earlier one, delimiters the reply would change. tests/test_native.py
 * compares the two paths over the corpus, the seeded population and hypothesis-made input.
 *
 * Every read is bounds-checked against the text and the counts found; nothing here trusts the
 * expression's guarantees for memory safety.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <string.h>

#define MAX_SEGMENTS 64
#define MAX_ELEMENTS 512

typedef struct {
    const char *p;
    Py_ssize_t n;
} Span;

/* Inlined at every call, so strlen of a literal is folded to a constant. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE int span_eq(Span a, const char *s) {
    Py_ssize_t n = (Py_ssize_t)strlen(s);
    return a.n == n && memcmp(a.p, s, (size_t)n) == 0;
}

static int spans_equal(Span a, Span b) { return a.n == b.n && memcmp(a.p, b.p, (size_t)a.n) == 0; }

static Span rstrip_blanks(Span a) {
    while (a.n > 0 && a.p[a.n - 1] == ' ') a.n--;
    return a;
}

static int all_digits(Span a) {
    if (a.n == 0) return 0;
    for (Py_ssize_t i = 0; i < a.n; i++)
        if (a.p[i] < '0' || a.p[i] > '9') return 0;
    return 1;
}

static int digits_value(const char *p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
    return v;
}

/* dt.date.fromisoformat on eight ASCII digits: years 1 to 9999, real months and days. */
static int real_ymd(int year, int month, int day) {
    static const int days_in[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || day < 1) return 0;
    int last = days_in[month - 1];
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) last = 29;
    return day <= last;
}

static int is_real_date(Span a) { /* dates.is_real_date */
    if (a.n != 8 || !all_digits(a)) return 0;
    return real_ymd(digits_value(a.p, 4), digits_value(a.p + 4, 2), digits_value(a.p + 6, 2));
}

static int is_yymmdd(Span a) { /* isa.is_yymmdd: 20YYMMDD */
    if (a.n != 6 || !all_digits(a)) return 0;
    return real_ymd(2000 + digits_value(a.p, 2), digits_value(a.p + 2, 2), digits_value(a.p + 4, 2));
}

static int is_real_range(Span a) { /* dates.is_real_range: partition at the first '-' */
    const char *dash = memchr(a.p, '-', (size_t)a.n);
    if (dash == NULL) return 0;
    Span start = {a.p, dash - a.p}, end = {dash + 1, a.n - (dash - a.p) - 1};
    return is_real_date(start) && is_real_date(end) && memcmp(start.p, end.p, 8) <= 0;
}

static int date_ok(Span qualifier, Span value) { /* fastpath._date_ok */
    if (span_eq(qualifier, "D8")) return is_real_date(value);
    if (span_eq(qualifier, "RD8")) return is_real_range(value);
    return 1;
}

static int text_of(PyObject *o, Span *out);

/* --- scan ------------------------------------------------------------------------------ */

typedef struct {
    Py_ssize_t first; /* index of the segment's ID in elements[] */
    Py_ssize_t count; /* elements, ID included */
} Seg;

typedef struct {
    Span elements[MAX_ELEMENTS];
    Seg segments[MAX_SEGMENTS];
    Py_ssize_t nseg;
    Py_ssize_t nel;
} Parsed;

static Span el(const Parsed *x, const Seg *s, Py_ssize_t i) {
    if (i < s->count) return x->elements[s->first + i];
    Span empty = {"", 0};
    return empty;
}

static int present(const Parsed *x, const Seg *s, Py_ssize_t i) { return i < s->count && x->elements[s->first + i].n > 0; }

/* Split text into segments (by term) and elements (by sep). 0: declined (too many). The last
 * piece (after the final terminator) must be empty. */
static int split(Parsed *x, const char *text, Py_ssize_t n, char sep, char term) {
    const char *p = text, *end = text + n;
    x->nseg = x->nel = 0;
    if (n == 0 || text[n - 1] != term) return 0;
    while (p < end) {
        const char *stop = memchr(p, term, (size_t)(end - p)); /* never NULL: the text ends with one */
        if (x->nseg >= MAX_SEGMENTS) return 0;
        Seg *s = &x->segments[x->nseg++];
        s->first = x->nel;
        for (;;) {
            const char *next = memchr(p, sep, (size_t)(stop - p));
            if (x->nel >= MAX_ELEMENTS) return 0;
            x->elements[x->nel].p = p;
            x->elements[x->nel].n = (next ? next : stop) - p;
            x->nel++;
            if (next == NULL) break;
            p = next + 1;
        }
        s->count = x->nel - s->first;
        p = stop + 1;
    }
    return 1;
}

enum { LOOP_NONE, LOOP_A, LOOP_B, LOOP_C, LOOP_D };

/* scan(text, delimiters, group_ids_match, service_types): delimiters is the element
 * separator, repetition separator, component separator and terminator, in that order. */
static PyObject *scan(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]) || !PyAnySet_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "scan(text, delimiters, group_ids_match, service_types)");
        return NULL;
    }
    PyObject *text_obj = args[0], *service_types = args[3];
    int group_ids_match = PyObject_IsTrue(args[2]);
    if (group_ids_match < 0) return NULL;
    Span delimiters;
    if (!PyUnicode_IS_ASCII(text_obj) || !text_of(args[1], &delimiters) || delimiters.n != 4) Py_RETURN_NONE;
    char sep = delimiters.p[0], rep = delimiters.p[1], comp = delimiters.p[2], term = delimiters.p[3];
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(text_obj, &n);
    if (text == NULL) return NULL;

    Parsed parsed, *x = &parsed;
    PyObject *result = NULL, *traces = NULL, *types = NULL, *procedures = NULL;

    if (!split(x, text, n, sep, term) || x->nseg + 1 < 6) goto decline;
    const Seg *isa = &x->segments[0], *gs = &x->segments[1];
    const Seg *ge = &x->segments[x->nseg - 2], *iea = &x->segments[x->nseg - 1];
    if (isa->count != 17 || gs->count != 9 || ge->count != 3 || iea->count != 3) goto decline;
    if (!span_eq(el(x, isa, 0), "ISA") || !span_eq(el(x, gs, 0), "GS")) goto decline;
    if (!is_yymmdd(el(x, isa, 9)) || !spans_equal(el(x, iea, 2), el(x, isa, 13))) goto decline;
    if (!spans_equal(el(x, gs, 6), el(x, ge, 2)) || !is_real_date(el(x, gs, 4))) goto decline;
    Span submitter = rstrip_blanks(el(x, isa, 6)), receiver = rstrip_blanks(el(x, isa, 8));
    if (group_ids_match && (!spans_equal(el(x, gs, 2), submitter) || !spans_equal(el(x, gs, 3), receiver)))
        goto decline;

    /* The transaction set: segments 2 .. nseg-3 (ST .. SE). */
    Py_ssize_t first = 2, last = x->nseg - 3, count = last - first + 1;
    if (count < 2) goto decline;
    const Seg *st = &x->segments[first], *se = &x->segments[last];
    if (st->count < 4 || se->count < 3 || !span_eq(el(x, st, 0), "ST") || !span_eq(el(x, se, 0), "SE")) goto decline;
    Span version = el(x, st, 3);
    if (!span_eq(version, "005010X279A1") && !span_eq(version, "005010X279")) goto decline;
    if (!spans_equal(el(x, se, 2), el(x, st, 2))) goto decline;
    Span se01 = el(x, se, 1);
    if (!all_digits(se01) || se01.n > 6 || digits_value(se01.p, (int)se01.n) != count) goto decline;

    types = PyList_New(0);
    procedures = PyList_New(0);
    traces = PyList_New(0);
    if (types == NULL || procedures == NULL || traces == NULL) goto fail;

    const Seg *bht = NULL, *provider = NULL, *subscriber = NULL, *demographics = NULL;
    Span subscriber_start = {"", 0}, subscriber_end = {"", 0}, service_start = {"", 0}, service_end = {"", 0};
    int have_subscriber_dates = 0, have_service_dates = 0;
    int level = LOOP_NONE, current = LOOP_NONE; /* the 2000 level; the 2100 loop once its NM1 is read */
    int in_2100 = 0;
    for (Py_ssize_t i = first; i <= last; i++) {
        const Seg *s = &x->segments[i];
        Span id = el(x, s, 0);
        if (span_eq(id, "ST") || span_eq(id, "SE")) {
            continue;
        } else if (span_eq(id, "BHT")) {
            if (s->count < 5 || !is_real_date(el(x, s, 4))) goto decline;
            bht = s;
        } else if (span_eq(id, "HL")) {
            Span code = el(x, s, 3);
            if (span_eq(code, "20")) level = LOOP_A;
            else if (span_eq(code, "21")) level = LOOP_B;
            else if (span_eq(code, "22")) level = LOOP_C;
            else goto decline; /* 23 (2000D) never passes the HETS expression; decline anyway */
            current = level;
            in_2100 = 0;
        } else if (span_eq(id, "NM1")) {
            if (present(x, s, 8) != present(x, s, 9)) goto decline;
            current = level;
            in_2100 = 1;
            if (level == LOOP_B) provider = s;
            else if (level == LOOP_C) subscriber = s;
        } else if (span_eq(id, "TRN")) {
            if (s->count < 4) goto decline;
            PyObject *t = Py_BuildValue(
                "(s#s#s#)", el(x, s, 2).p, el(x, s, 2).n, el(x, s, 3).p, el(x, s, 3).n, el(x, s, 4).p, el(x, s, 4).n);
            if (t == NULL || PyList_Append(traces, t) < 0) {
                Py_XDECREF(t);
                goto fail;
            }
            Py_DECREF(t);
        } else if (span_eq(id, "DMG")) {
            int has_format = present(x, s, 1), has_date = present(x, s, 2);
            if (has_format != has_date || (has_date && !date_ok(el(x, s, 1), el(x, s, 2)))) goto decline;
            if (in_2100 && current == LOOP_C) demographics = s;
            else goto decline; /* a DMG outside 2100C: leave it to the walk */
        } else if (span_eq(id, "DTP")) {
            if (s->count < 4 || !date_ok(el(x, s, 2), el(x, s, 3))) goto decline;
            if (!span_eq(el(x, s, 1), "291")) continue;
            Span q = el(x, s, 2), v = el(x, s, 3), a, b;
            if (span_eq(q, "D8")) {
                a = b = v;
            } else if (span_eq(q, "RD8")) {
                if (v.n != 17) goto decline; /* a real range is two 8-digit dates and a dash */
                a.p = v.p, a.n = 8, b.p = v.p + 9, b.n = 8;
            } else {
                continue; /* _dates gives None: no dates from this DTP */
            }
            if (in_2100 && current == LOOP_C) {
                if (!have_subscriber_dates) subscriber_start = a, subscriber_end = b, have_subscriber_dates = 1;
            } else if (!have_service_dates) {
                service_start = a, service_end = b, have_service_dates = 1;
            }
        } else if (span_eq(id, "EQ")) {
            Span codes = el(x, s, 1), composite = el(x, s, 2);
            if (codes.n == 0 && composite.n == 0) goto decline;
            in_2100 = 0; /* 2110C: DTPs here are not the 2100C's */
            current = LOOP_NONE;
            if (codes.n > 0) {
                Py_ssize_t start = 0;
                for (Py_ssize_t j = 0; j <= codes.n; j++) {
                    if (j < codes.n && codes.p[j] != rep) continue;
                    PyObject *code = PyUnicode_FromStringAndSize(codes.p + start, j - start);
                    if (code == NULL) goto fail;
                    int known = PySet_Contains(service_types, code);
                    if (known != 1 || PyList_Append(types, code) < 0) {
                        Py_DECREF(code);
                        if (known < 0 || known == 1) goto fail;
                        goto decline;
                    }
                    Py_DECREF(code);
                    start = j + 1;
                }
            }
            if (composite.n > 0) {
                const char *c1 = memchr(composite.p, comp, (size_t)composite.n);
                if (c1 != NULL && c1 - composite.p == 2 && memcmp(composite.p, "HC", 2) == 0) {
                    const char *code_start = c1 + 1, *end = composite.p + composite.n;
                    const char *c2 = memchr(code_start, comp, (size_t)(end - code_start));
                    Py_ssize_t code_n = (c2 ? c2 : end) - code_start;
                    if (code_n > 0) {
                        PyObject *code = PyUnicode_FromStringAndSize(code_start, code_n);
                        if (code == NULL || PyList_Append(procedures, code) < 0) {
                            Py_XDECREF(code);
                            goto fail;
                        }
                        Py_DECREF(code);
                    }
                }
            }
        } else {
            goto decline; /* REF, N3, N4, PRV, INS, HI, AMT, ...: the Python path */
        }
    }
    if (bht == NULL || provider == NULL || subscriber == NULL) goto decline;
    Span birth = {"", 0}, gender = {"", 0};
    if (demographics != NULL) {
        if (demographics->count > 2 && span_eq(el(x, demographics, 1), "D8")) birth = el(x, demographics, 2);
        gender = el(x, demographics, 3);
    }
    Span start = have_subscriber_dates ? subscriber_start : service_start;
    Span end = have_subscriber_dates ? subscriber_end : service_end;
    PyObject *traces_tuple = PyList_AsTuple(traces), *types_tuple = PyList_AsTuple(types);
    PyObject *procedures_tuple = PyList_AsTuple(procedures);
    if (traces_tuple == NULL || types_tuple == NULL || procedures_tuple == NULL) {
        Py_XDECREF(traces_tuple);
        Py_XDECREF(types_tuple);
        Py_XDECREF(procedures_tuple);
        goto fail;
    }
    Span values[27] = {
        submitter, receiver, el(x, isa, 5), el(x, isa, 7), el(x, isa, 13), el(x, isa, 15),
        el(x, gs, 2), el(x, gs, 3), el(x, bht, 3),
        /* 9: the provider as sent */
        el(x, provider, 1), el(x, provider, 2), el(x, provider, 3), el(x, provider, 4),
        el(x, provider, 5), el(x, provider, 7), el(x, provider, 8), el(x, provider, 9),
        /* 17: the subscriber as sent */
        el(x, subscriber, 3), el(x, subscriber, 4), el(x, subscriber, 5), el(x, subscriber, 7),
        el(x, subscriber, 8), el(x, subscriber, 9), birth, gender,
        /* 25 */
        start, end};
    result = PyTuple_New(30);
    if (result == NULL) {
        Py_DECREF(traces_tuple);
        Py_DECREF(types_tuple);
        Py_DECREF(procedures_tuple);
        goto fail;
    }
    PyTuple_SET_ITEM(result, 27, traces_tuple);
    PyTuple_SET_ITEM(result, 28, types_tuple);
    PyTuple_SET_ITEM(result, 29, procedures_tuple);
    for (int i = 0; i < 27; i++) {
        PyObject *value = PyUnicode_DecodeASCII(values[i].p, values[i].n, NULL);
        if (value == NULL) {
            Py_CLEAR(result);
            goto fail;
        }
        PyTuple_SET_ITEM(result, i, value);
    }
    goto done;
decline:
    result = Py_None;
    Py_INCREF(result);
    goto done;
fail:
    result = NULL;
done:
    Py_XDECREF(traces);
    Py_XDECREF(types);
    Py_XDECREF(procedures);
    return result;
}

/* --- render ---------------------------------------------------------------------------- */

typedef struct {
    char *p;
    Py_ssize_t n, cap;
    char sep, term, comp, rep;
    unsigned char unsafe[256]; /* 1 for the element separator and the terminator */
    int bad;      /* a value held the element separator or the terminator: decline */
    int no_mem;   /* out of memory: raise */
    int segments; /* written since the body started */
} Writer;

/* Room for ``more`` bytes; the check is inlined, the rare reallocation is not. */
static void grow_slow(Writer *w, Py_ssize_t more) {
    Py_ssize_t cap = w->cap * 2;
    while (cap < w->n + more) cap *= 2;
    char *p = PyMem_Realloc(w->p, (size_t)cap);
    if (p == NULL) {
        w->no_mem = 1;
        return;
    }
    w->p = p;
    w->cap = cap;
}

ALWAYS_INLINE void grow(Writer *w, Py_ssize_t more) {
    if (w->n + more > w->cap) grow_slow(w, more);
}

ALWAYS_INLINE void raw(Writer *w, const char *s, Py_ssize_t n) {
    grow(w, n);
    if (w->no_mem) return;
    memcpy(w->p + w->n, s, (size_t)n);
    w->n += n;
}

/* One element: the separator, then the value, which the caller knows holds neither the element
 * separator nor the terminator (a constant, or a value split out of the request, whose
 * delimiters the reply keeps). */
ALWAYS_INLINE void put_trusted(Writer *w, const char *s, Py_ssize_t n) {
    grow(w, n + 1);
    if (w->no_mem) return;
    w->p[w->n++] = w->sep;
    memcpy(w->p + w->n, s, (size_t)n);
    w->n += n;
}

/* One element of the record: checked as writer._check_values does. */
static void put(Writer *w, const char *s, Py_ssize_t n) {
    unsigned char found = 0;
    for (Py_ssize_t i = 0; i < n; i++) found |= w->unsafe[(unsigned char)s[i]];
    if (found) w->bad = 1;
    grow(w, n + 1);
    if (w->no_mem) return;
    w->p[w->n++] = w->sep;
    memcpy(w->p + w->n, s, (size_t)n);
    w->n += n;
}

ALWAYS_INLINE void put_c(Writer *w, const char *s) { put_trusted(w, s, (Py_ssize_t)strlen(s)); }
static void put_span(Writer *w, Span a) { put(w, a.p, a.n); }       /* from the record */
ALWAYS_INLINE void put_rq(Writer *w, Span a) { put_trusted(w, a.p, a.n); } /* from the request */

/* A segment's ID; also makes room for the short elements most segments hold. */
ALWAYS_INLINE void begin(Writer *w, const char *id) {
    grow(w, 128);
    raw(w, id, (Py_ssize_t)strlen(id));
}

/* put_c for an element not known at compile time (segment's arguments): copied byte by byte
 * while the room lasts (elements are short), else as put_c. */
static void put_cstr(Writer *w, const char *s) {
    char *p = w->p + w->n, *end = w->p + w->cap;
    if (!w->no_mem && p < end) {
        const char *c = s;
        *p++ = w->sep;
        while (*c && p < end) *p++ = *c++;
        if (*c == '\0') {
            w->n = p - w->p;
            return;
        }
    }
    put_trusted(w, s, (Py_ssize_t)strlen(s));
}

ALWAYS_INLINE void end(Writer *w) {
    grow(w, 1);
    if (w->no_mem) return;
    w->p[w->n++] = w->term;
    w->segments++;
}

/* A whole segment from its elements, ID first; NULL ends the list. */
static void segment(Writer *w, const char *id, ...) {
    va_list ap;
    begin(w, id);
    va_start(ap, id);
    for (const char *s = va_arg(ap, const char *); s != NULL; s = va_arg(ap, const char *)) put_cstr(w, s);
    va_end(ap);
    end(w);
}

/* A str value of the scan tuple or the params, ASCII only (else decline). */
static int text_of(PyObject *o, Span *out) {
    if (!PyUnicode_Check(o) || !PyUnicode_IS_ASCII(o)) return 0;
    out->p = PyUnicode_AsUTF8AndSize(o, &out->n);
    return out->p != NULL;
}

/* reply271.money: whole cents as an X12 R amount. */
/* A non-negative whole number in decimal, NUL-ended; buf holds at least 21 characters. */
static char *decimal(char *buf, long long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (int i = 0; i < n; i++) buf[i] = digits[n - 1 - i];
    buf[n] = '\0';
    return buf + n;
}

/* value (0 <= value < 10**width) as exactly width digits, zero-padded, NUL-ended. */
static void padded(char *buf, long long value, int width) {
    for (int i = width - 1; i >= 0; i--) {
        buf[i] = (char)('0' + value % 10);
        value /= 10;
    }
    buf[width] = '\0';
}

static void money(char *buf, long long cents) { /* cents >= 0 (count_of) */
    long long rest = cents % 100;
    char *end = decimal(buf, cents / 100);
    if (rest) {
        end[0] = '.', end[1] = (char)('0' + rest / 10), end[2] = (char)('0' + rest % 10), end[3] = '\0';
    }
}

/* A non-negative int of the document (bool excluded, as from_document would keep it but the
 * 271 would print True): 1 and the value, or 0 to decline. */
static int count_of(PyObject *o, long long *out) {
    if (!PyLong_CheckExact(o)) return 0;
    long long v = PyLong_AsLongLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (v < 0) return 0;
    *out = v;
    return 1;
}

/* reply271._dtp: D8 for a day (or an open or one-day period), RD8 for a range. */
static void dtp(Writer *w, const char *qualifier, Span start, Span stop) {
    begin(w, "DTP");
    put_c(w, qualifier);
    if (stop.n > 0 && !spans_equal(stop, start)) {
        put_c(w, "RD8");
        grow(w, start.n + stop.n + 2);
        if (w->no_mem) return;
        w->p[w->n++] = w->sep;
        for (Py_ssize_t i = 0; i < start.n; i++)
            if (start.p[i] == w->sep || start.p[i] == w->term) w->bad = 1;
        for (Py_ssize_t i = 0; i < stop.n; i++)
            if (stop.p[i] == w->sep || stop.p[i] == w->term) w->bad = 1;
        memcpy(w->p + w->n, start.p, (size_t)start.n);
        w->n += start.n;
        w->p[w->n++] = '-';
        memcpy(w->p + w->n, stop.p, (size_t)stop.n);
        w->n += stop.n;
    } else {
        put_c(w, "D8");
        put_span(w, start);
    }
    end(w);
}

static int span_cmp(Span a, Span b) {
    Py_ssize_t n = a.n < b.n ? a.n : b.n;
    int c = memcmp(a.p, b.p, (size_t)n);
    if (c != 0) return c;
    return (a.n > b.n) - (a.n < b.n);
}

/* Period.covers(day) and Period.overlaps(first, last). */
static int covers(Span start, Span stop, Span day) {
    return span_cmp(start, day) <= 0 && (stop.n == 0 || span_cmp(day, stop) <= 0);
}
static int overlaps(Span start, Span stop, Span first, Span last) {
    return span_cmp(start, last) <= 0 && (stop.n == 0 || span_cmp(first, stop) <= 0);
}

/* reply271._n4: no trailing empty elements. */
static void n4(Writer *w, Span city, Span state, Span postal) {
    begin(w, "N4");
    put_span(w, city);
    if (postal.n > 0) {
        put_span(w, state);
        put_span(w, postal);
    } else if (state.n > 0) {
        put_span(w, state);
    }
    end(w);
}

/* MBI format (identifiers.is_valid_mbi). */
static int is_mbi(Span a) {
    static const char *letters = "ACDEFGHJKMNPQRTUVWXY";
    static const char *layout = "LEDLEDLLDD"; /* positions 2 to 11 */
    if (a.n != 11 || a.p[0] < '1' || a.p[0] > '9') return 0;
    for (int i = 1; i < 11; i++) {
        char c = a.p[i], kind = layout[i - 1];
        int digit = c >= '0' && c <= '9', letter = c != '\0' && strchr(letters, c) != NULL;
        if ((kind == 'L' && !letter) || (kind == 'D' && !digit) || (kind == 'E' && !letter && !digit)) return 0;
    }
    return 1;
}

/* NPI: ten digits, the last the Luhn check digit over 80840 and the first nine. */
static int is_npi(Span a) {
    if (a.n != 10 || !all_digits(a)) return 0;
    char digits[15];
    memcpy(digits, "80840", 5);
    memcpy(digits + 5, a.p, 9);
    int total = 0;
    for (int index = 0; index < 14; index++) {
        int digit = digits[13 - index] - '0';
        if (index % 2 == 0) {
            digit *= 2;
            if (digit > 9) digit -= 9;
        }
        total += digit;
    }
    return (10 - total % 10) % 10 == a.p[9] - '0';
}

static int tuple_has(PyObject *tuple, Span value) {
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
        Span s;
        if (text_of(PyTuple_GET_ITEM(tuple, i), &s) && spans_equal(s, value)) return 1;
    }
    return 0;
}

static int tuple_has_c(PyObject *tuple, const char *value) {
    Span v = {value, (Py_ssize_t)strlen(value)};
    return tuple_has(tuple, v);
}

enum { DEDUCTIBLES = 1, HOSPITAL = 2, SNF = 4, ADVANTAGE = 8, DRUG = 16, MSP = 32, HOSPICE = 64, HOME_HEALTH = 128,
       PREVENTIVE = 256 };

/* reply271._sections */
static int sections_of(PyObject *asked) {
    if (PyTuple_GET_SIZE(asked) == 0 || tuple_has_c(asked, "30")) return 511;
    int wanted = ADVANTAGE | MSP;
    if (tuple_has_c(asked, "42")) wanted |= HOME_HEALTH;
    if (tuple_has_c(asked, "45")) wanted |= HOSPICE;
    if (tuple_has_c(asked, "47") || tuple_has_c(asked, "48")) wanted |= HOSPITAL | DEDUCTIBLES;
    if (tuple_has_c(asked, "AG")) wanted |= SNF;
    if (tuple_has_c(asked, "88")) wanted |= DRUG;
    return wanted;
}

#define TEXT(obj, span)                   \
    do {                                  \
        if (!text_of((obj), &(span))) goto decline; \
    } while (0)

/* --- the stored document, read in place ------------------------------------------------ */

/* render() reads the store's document (the orjson bytes, hetsock.eligibility.store) itself
 * rather than through orjson.loads: a reply's record is about 70 values, and making them as
 * Python objects cost more than the rest of render. The reader is strict, and where a value
 * could read differently from what orjson would make of the same bytes it fails, and render
 * declines (the Python path then decodes the document, as it always does): any byte outside
 * printable ASCII, any backslash escape, any number that is not a plain integer of at most 18
 * digits, a repeated key in an object, nesting deeper than JSON_DEPTH, more than JSON_NODES
 * values. So every document it accepts holds only what orjson would make plain str, int, bool,
 * None, list and dict of, with the same values. */

#define JSON_NODES 1024
#define JSON_DEPTH 16
/* Most procedure codes one reply answers (more: decline). */
#define MAX_ANSWERED 256

enum { J_NULL, J_FALSE, J_TRUE, J_INT, J_STR, J_ARR, J_OBJ };

typedef struct {
    unsigned char type;
    int n;          /* J_ARR: items; J_OBJ: pairs */
    int first;      /* J_ARR, J_OBJ: the first of its kids (an object's as key, value, key, ...) */
    long long i;    /* J_INT */
    Span s;         /* J_STR: the characters between the quotes */
} JNode;

typedef struct {
    const char *p, *end;
    int count, nkids, top;
    JNode nodes[JSON_NODES];
    int kids[JSON_NODES];
    int stack[JSON_NODES];
} JDoc;

static void j_blank(JDoc *d) {
    while (d->p < d->end && (*d->p == ' ' || *d->p == '\n' || *d->p == '\r' || *d->p == '\t')) d->p++;
}

static int j_new(JDoc *d, unsigned char type) {
    if (d->count >= JSON_NODES) return -1;
    JNode *node = &d->nodes[d->count];
    node->type = type, node->n = 0, node->first = 0, node->i = 0;
    return d->count++;
}

/* 1 for the bytes a string may hold here: printable ASCII but the quote and the backslash. */
static unsigned char J_PLAIN[256];

static int j_string(JDoc *d) { /* at the opening quote */
    const char *start = ++d->p, *end = d->end;
    const char *p = start;
    while (p < end && J_PLAIN[(unsigned char)*p]) p++;
    d->p = p;
    if (p >= end || *p != '"') return -1; /* the end, or a byte the reader does not take */
    int k = j_new(d, J_STR);
    if (k < 0) return -1;
    d->nodes[k].s.p = start, d->nodes[k].s.n = d->p - start;
    d->p++;
    return k;
}

static int j_literal(JDoc *d, const char *word, unsigned char type) {
    size_t n = strlen(word);
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0) return -1;
    d->p += n;
    return j_new(d, type);
}

static int j_number(JDoc *d) {
    int negative = 0;
    if (*d->p == '-') negative = 1, d->p++;
    const char *digits = d->p;
    long long v = 0;
    while (d->p < d->end && *d->p >= '0' && *d->p <= '9') {
        if (d->p - digits < 18) v = v * 10 + (*d->p - '0'); /* more than 18 digits fails below */
        d->p++;
    }
    Py_ssize_t n = d->p - digits;
    if (n == 0 || n > 18 || (n > 1 && digits[0] == '0')) return -1;
    if (d->p < d->end && (*d->p == '.' || *d->p == 'e' || *d->p == 'E')) return -1; /* a float */
    int k = j_new(d, J_INT);
    if (k >= 0) d->nodes[k].i = negative ? -v : v;
    return k;
}

static int j_value(JDoc *d, int depth);

/* An array or object's kids, pushed on the stack as they come, then moved to kids in order. */
static int j_container(JDoc *d, int depth, int object) {
    char close = object ? '}' : ']';
    int k = j_new(d, object ? J_OBJ : J_ARR);
    if (k < 0 || depth > JSON_DEPTH) return -1;
    int base = d->top;
    d->p++;
    j_blank(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        d->nodes[k].first = d->nkids;
        return k;
    }
    for (;;) {
        j_blank(d);
        if (d->p >= d->end) return -1;
        if (object) {
            if (*d->p != '"') return -1;
            int key = j_string(d);
            if (key < 0 || d->top >= JSON_NODES) return -1;
            for (int q = base; q < d->top; q += 2) /* a repeated key: orjson keeps the last */
                if (spans_equal(d->nodes[d->stack[q]].s, d->nodes[key].s)) return -1;
            d->stack[d->top++] = key;
            j_blank(d);
            if (d->p >= d->end || *d->p != ':') return -1;
            d->p++;
            j_blank(d);
        }
        int item = j_value(d, depth + 1);
        if (item < 0 || d->top >= JSON_NODES) return -1;
        d->stack[d->top++] = item;
        j_blank(d);
        if (d->p >= d->end) return -1;
        if (*d->p == ',') {
            d->p++;
            continue;
        }
        if (*d->p != close) return -1;
        d->p++;
        break;
    }
    int count = d->top - base;
    if (d->nkids + count > JSON_NODES) return -1;
    d->nodes[k].first = d->nkids;
    d->nodes[k].n = object ? count / 2 : count;
    memcpy(d->kids + d->nkids, d->stack + base, (size_t)count * sizeof(int));
    d->nkids += count;
    d->top = base;
    return k;
}

static int j_value(JDoc *d, int depth) {
    j_blank(d);
    if (d->p >= d->end) return -1;
    switch (*d->p) {
    case '{': return j_container(d, depth, 1);
    case '[': return j_container(d, depth, 0);
    case '"': return j_string(d);
    case 't': return j_literal(d, "true", J_TRUE);
    case 'f': return j_literal(d, "false", J_FALSE);
    case 'n': return j_literal(d, "null", J_NULL);
    default:
        if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) return j_number(d);
        return -1;
    }
}

/* The document's top object (node 0), or 0 when the bytes are not one the reader takes. */
static int j_read(JDoc *d, const char *p, Py_ssize_t n) {
    d->p = p, d->end = p + n, d->count = d->nkids = d->top = 0;
    j_blank(d);
    if (d->p >= d->end || *d->p != '{' || j_value(d, 0) != 0) return 0;
    j_blank(d);
    return d->p == d->end;
}

/* doc.get(key) of the top object, or NULL. */
static const JNode *j_get(const JDoc *d, const char *key) {
    const JNode *top = &d->nodes[0];
    size_t n = strlen(key);
    for (int q = 0; q < top->n; q++) {
        const JNode *k = &d->nodes[d->kids[top->first + 2 * q]];
        if ((size_t)k->s.n == n && memcmp(k->s.p, key, n) == 0) return &d->nodes[d->kids[top->first + 2 * q + 1]];
    }
    return NULL;
}

#define JITEM(list, i) (&doc.nodes[doc.kids[(list)->first + (i)]])

/* A list of exactly n items, or NULL. */
static const JNode *j_row(const JNode *o, int n) { return (o != NULL && o->type == J_ARR && o->n == n) ? o : NULL; }

static int j_text(const JNode *o, Span *out) {
    if (o->type != J_STR) return 0;
    *out = o->s;
    return 1;
}

/* count_of for the document: a non-negative int (true and false are not ints here). */
static int j_count(const JNode *o, long long *out) {
    if (o->type != J_INT || o->i < 0) return 0;
    *out = o->i;
    return 1;
}

/* The n items of a record row (NULL: a row of the wrong shape) as text: 0 to decline. */
static int j_texts(const JDoc *d, const JNode *r, Span *out, int n) {
    if (r == NULL) return 0;
    for (int i = 0; i < n; i++)
        if (!j_text(&d->nodes[d->kids[r->first + i]], &out[i])) return 0;
    return 1;
}

/* doc.get(key) as a list, or NULL when absent; 1 in *bad when present but not a list. */
static const JNode *j_section(const JDoc *d, const char *key, int *bad) {
    const JNode *v = j_get(d, key);
    if (v == NULL) return NULL;
    if (v->type != J_ARR) {
        *bad = 1;
        return NULL;
    }
    return v;
}

#define JTEXT(node, span)                             \
    do {                                              \
        if (!j_text((node), &(span))) goto decline;   \
    } while (0)

/* REF*18*<contract> <plan benefit package>: the 2110C plan reference (record values, checked). */
static void plan_reference(Writer *w, Span contract, Span pbp) {
    begin(w, "REF");
    put_c(w, "18");
    put_span(w, contract);
    for (Py_ssize_t k = 0; k < pbp.n; k++)
        if (w->unsafe[(unsigned char)pbp.p[k]]) w->bad = 1;
    raw(w, " ", 1);
    raw(w, pbp.p, pbp.n);
    end(w);
}

/* EB*D**<service type>*MB*********HC<component><code>: a procedure's EB (EB13 the composite). */
static void eb_procedure(Writer *w, Span service_type, Span code) {
    begin(w, "EB");
    put_c(w, "D"), put_c(w, ""), put_span(w, service_type), put_c(w, "MB");
    for (int k = 0; k < 8; k++) put_c(w, "");
    char prefix[4] = {w->sep, 'H', 'C', w->comp};
    raw(w, prefix, 4);
    for (Py_ssize_t k = 0; k < code.n; k++)
        if (w->unsafe[(unsigned char)code.p[k]]) w->bad = 1;
    raw(w, code.p, code.n);
    end(w);
}

static const Span THIRTY = {"30", 2};

static void plan_loop_start(Writer *w) { segment(w, "LS", "2120", NULL); }
static void plan_loop_end(Writer *w) { segment(w, "LE", "2120", NULL); }

/* render(scanned, doc, params) */
static PyObject *render(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyTuple_Check(args[0]) || !PyBytes_Check(args[1]) || !PyTuple_Check(args[2]) ||
        PyTuple_GET_SIZE(args[0]) != 30 || PyTuple_GET_SIZE(args[2]) != 11 ||
        !PyDateTime_Check(PyTuple_GET_ITEM(args[2], 0))) {
        PyErr_SetString(PyExc_TypeError, "render(scanned, doc, params)");
        return NULL;
    }
    PyObject *scanned = args[0], *params = args[2];
    JDoc doc; /* the document: read after the checks that need no record */
    Writer w = {0};
    w.cap = 2048;
    w.p = PyMem_Malloc((size_t)w.cap);
    if (w.p == NULL) return PyErr_NoMemory();
    PyObject *result = NULL;

    /* params: now (the reply's date and time), the interchange, group and transaction control
     * numbers, the first and last allowed day, sender and receiver qualifier, the delimiters
     * (as scan takes them), Part A types, Part B types */
    PyObject *now = PyTuple_GET_ITEM(params, 0);
    long long controls[3];
    for (int i = 0; i < 3; i++) {
        PyObject *number = PyTuple_GET_ITEM(params, 1 + i);
        if (!count_of(number, &controls[i]) || controls[i] > 999999999) goto decline;
    }
    char date_buf[9], time_buf[7], isa13_buf[10], gs06_buf[24], st02_buf[24];
    int year = PyDateTime_GET_YEAR(now), month = PyDateTime_GET_MONTH(now), day = PyDateTime_GET_DAY(now);
    int hour = PyDateTime_DATE_GET_HOUR(now), minute = PyDateTime_DATE_GET_MINUTE(now);
    int second = PyDateTime_DATE_GET_SECOND(now);
    padded(date_buf, year, 4), padded(date_buf + 4, month, 2), padded(date_buf + 6, day, 2);
    padded(time_buf, hour, 2), padded(time_buf + 2, minute, 2), padded(time_buf + 4, second, 2);
    padded(isa13_buf, controls[0], 9);
    decimal(gs06_buf, controls[1]);
    if (controls[2] > 9999) decimal(st02_buf, controls[2]);
    else padded(st02_buf, controls[2], 4);
    Span date = {date_buf, 8}, time_ = {time_buf, 6}, isa13 = {isa13_buf, 9};
    Span gs06 = {gs06_buf, (Py_ssize_t)strlen(gs06_buf)}, st02 = {st02_buf, (Py_ssize_t)strlen(st02_buf)};
    Span first_allowed, last_allowed, q_sender, q_receiver, delims, types_a, types_b;
    TEXT(PyTuple_GET_ITEM(params, 4), first_allowed);
    TEXT(PyTuple_GET_ITEM(params, 5), last_allowed);
    TEXT(PyTuple_GET_ITEM(params, 6), q_sender);
    TEXT(PyTuple_GET_ITEM(params, 7), q_receiver);
    TEXT(PyTuple_GET_ITEM(params, 8), delims);
    TEXT(PyTuple_GET_ITEM(params, 9), types_a);
    TEXT(PyTuple_GET_ITEM(params, 10), types_b);
    if (year > 9999) goto decline;
    if (delims.n != 4) goto decline;
    w.sep = delims.p[0], w.rep = delims.p[1], w.comp = delims.p[2], w.term = delims.p[3];
    w.unsafe[(unsigned char)w.sep] = w.unsafe[(unsigned char)w.term] = 1;
    for (int i = 0; i < 4; i++) /* reply271.reply_delimiters would change them: escaping needed */
        if (delims.p[i] == '-' || delims.p[i] == '.' || delims.p[i] == ' ') goto decline;

    Span v[27];
    for (int i = 0; i < 27; i++) TEXT(PyTuple_GET_ITEM(scanned, i), v[i]);
    PyObject *traces = PyTuple_GET_ITEM(scanned, 27), *asked = PyTuple_GET_ITEM(scanned, 28);
    PyObject *procedures = PyTuple_GET_ITEM(scanned, 29);
    if (!PyTuple_Check(traces) || !PyTuple_Check(asked) || !PyTuple_Check(procedures)) goto decline;
    Span submitter = v[0], receiver = v[1], usage = v[5], group_sender = v[6], group_receiver = v[7];
    Span reference = v[8];
    Span p_entity = v[9], p_type = v[10], p_name = v[11], p_first = v[12], p_middle = v[13], p_suffix = v[14];
    Span p_qualifier = v[15], p_id = v[16];
    Span s_last = v[17], s_first = v[18], s_suffix = v[20], s_qualifier = v[21], s_member = v[22];
    Span s_birth = v[23];
    Span start = v[25], stop = v[26];

    /* decide(): every rule passes with nothing to correct, or decline. */
    if (!span_eq(p_qualifier, "XX") || !is_npi(p_id)) goto decline;           /* 43 */
    if (!span_eq(s_qualifier, "MI") || !is_mbi(s_member)) goto decline;       /* 72 */
    if (start.n == 0) start = stop = date;                                    /* no date of service: today */
    if (span_cmp(stop, last_allowed) > 0 || span_cmp(start, first_allowed) < 0) goto decline; /* 63, 62 */
    if (!j_read(&doc, PyBytes_AS_STRING(args[1]), PyBytes_GET_SIZE(args[1]))) goto decline;
    const JNode *name = j_get(&doc, "name");
    if (name == NULL || j_row(name, 4) == NULL) goto decline;
    Span b_last, b_first, b_middle, b_suffix, b_mbi, b_birth, b_sex;
    JTEXT(JITEM(name, 0), b_last);
    JTEXT(JITEM(name, 1), b_first);
    JTEXT(JITEM(name, 2), b_middle);
    JTEXT(JITEM(name, 3), b_suffix);
    const JNode *o;
    if ((o = j_get(&doc, "mbi")) == NULL) goto decline;
    JTEXT(o, b_mbi);
    if ((o = j_get(&doc, "dob")) == NULL) goto decline;
    JTEXT(o, b_birth);
    if ((o = j_get(&doc, "sex")) == NULL) goto decline;
    JTEXT(o, b_sex);
    if (!spans_equal(s_last, b_last) || !spans_equal(s_suffix, b_suffix)) goto decline; /* 73, or corrected */
    if (s_first.n == 0 && s_birth.n == 0) goto decline;                                 /* 73 */
    if (s_first.n > 0 && !spans_equal(s_first, b_first)) goto decline;                  /* 73 (or normalized) */
    if (span_cmp(s_birth.n > 0 ? s_birth : b_birth, start) > 0) goto decline;           /* 60 */
    if (s_birth.n > 0 && !spans_equal(s_birth, b_birth)) goto decline;                  /* 71 */

    /* The record's other sections, shape-checked as from_document unpacks them. */
    Span addr[5];
    const JNode *address = j_get(&doc, "addr");
    if (address == NULL || j_row(address, 5) == NULL) goto decline;
    for (int i = 0; i < 5; i++) JTEXT(JITEM(address, i), addr[i]);
    Span death = {"", 0};
    if ((o = j_get(&doc, "dod")) != NULL) JTEXT(o, death);
    if ((o = j_get(&doc, "prev")) != NULL && o->type != J_ARR) goto decline;
    int esrd = 0;
    if ((o = j_get(&doc, "esrd")) != NULL) {
        if (o->type != J_TRUE && o->type != J_FALSE) goto decline;
        esrd = o->type == J_TRUE;
    }
    int shape_bad = 0;
    const JNode *ent = j_section(&doc, "ent", &shape_bad), *ded = j_section(&doc, "ded", &shape_bad);
    const JNode *days = j_section(&doc, "days", &shape_bad), *ma = j_section(&doc, "ma", &shape_bad);
    const JNode *pdp = j_section(&doc, "pdp", &shape_bad), *msp = j_section(&doc, "msp", &shape_bad);
    const JNode *hospice = j_section(&doc, "hospice", &shape_bad), *hh = j_section(&doc, "hh", &shape_bad);
    const JNode *preventive = j_section(&doc, "prev_svc", &shape_bad);
    if (shape_bad) goto decline;

    /* The envelope: the request's ends swapped (render_one_set, writer._isa). */
    char isa06[16], isa08[16];
    if (receiver.n > 15 || submitter.n > 15) goto decline;
    memset(isa06, ' ', 15), memset(isa08, ' ', 15);
    memcpy(isa06, receiver.p, (size_t)receiver.n), memcpy(isa08, submitter.p, (size_t)submitter.n);
    isa06[15] = isa08[15] = '\0';
    char yymmdd[7], hhmm[5];
    memcpy(yymmdd, date.p + 2, 6), yymmdd[6] = '\0';
    memcpy(hhmm, time_.p, 4), hhmm[4] = '\0';
    begin(&w, "ISA");
    put_c(&w, "00"), put_c(&w, "          "), put_c(&w, "00"), put_c(&w, "          ");
    put_rq(&w, q_receiver), put_c(&w, isa06), put_rq(&w, q_sender), put_c(&w, isa08);
    put_c(&w, yymmdd), put_c(&w, hhmm), put_trusted(&w, &w.rep, 1), put_c(&w, "00501"), put_rq(&w, isa13);
    put_c(&w, "0"), put_rq(&w, usage), put_trusted(&w, &w.comp, 1) /* a delimiter may be NUL: not put_c */;
    end(&w);
    begin(&w, "GS");
    put_c(&w, "HB"), put_rq(&w, group_receiver), put_rq(&w, group_sender), put_rq(&w, date), put_rq(&w, time_);
    put_rq(&w, gs06), put_c(&w, "X"), put_c(&w, "005010X279A1");
    end(&w);
    begin(&w, "ST");
    put_c(&w, "271"), put_rq(&w, st02), put_c(&w, "005010X279A1");
    end(&w);
    w.segments = 0;
    begin(&w, "BHT");
    put_c(&w, "0022"), put_c(&w, "11"), put_rq(&w, reference), put_rq(&w, date), put_rq(&w, time_);
    end(&w);
    segment(&w, "HL", "1", "", "20", "1", NULL);
    segment(&w, "NM1", "PR", "2", "CMS", "", "", "", "", "PI", "CMS", NULL);
    segment(&w, "PER", "IC", "", "UR", "WWW.CMS.GOV", NULL);
    segment(&w, "HL", "2", "1", "21", "1", NULL);
    begin(&w, "NM1"); /* NM109 (a valid NPI) is present: nothing to trim */
    put_rq(&w, p_entity), put_rq(&w, p_type), put_rq(&w, p_name), put_rq(&w, p_first);
    put_rq(&w, p_middle), put_c(&w, ""), put_rq(&w, p_suffix), put_rq(&w, p_qualifier), put_rq(&w, p_id);
    end(&w);
    segment(&w, "HL", "3", "2", "22", "0", NULL);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(traces) && i < 3; i++) {
        PyObject *t = PyTuple_GET_ITEM(traces, i);
        Span number, originator, additional;
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) goto decline;
        TEXT(PyTuple_GET_ITEM(t, 0), number);
        TEXT(PyTuple_GET_ITEM(t, 1), originator);
        TEXT(PyTuple_GET_ITEM(t, 2), additional);
        begin(&w, "TRN");
        put_c(&w, "2"), put_rq(&w, number), put_rq(&w, originator);
        if (additional.n > 0) put_rq(&w, additional);
        end(&w);
    }
    /* 2100C: the subscriber as the record has them (reply271._subscriber_found). */
    if (b_mbi.n == 0) goto decline; /* NM109 empty would need the trailing trim */
    begin(&w, "NM1");
    put_c(&w, "IL"), put_c(&w, "1"), put_span(&w, b_last), put_span(&w, b_first), put_span(&w, b_middle);
    put_c(&w, ""), put_span(&w, b_suffix), put_c(&w, "MI"), put_span(&w, b_mbi);
    end(&w);
    if (addr[0].n > 0) {
        begin(&w, "N3");
        put_span(&w, addr[0]);
        if (addr[1].n > 0) put_span(&w, addr[1]);
        end(&w);
        n4(&w, addr[2], addr[3], addr[4]);
    }
    begin(&w, "DMG");
    put_c(&w, "D8"), put_span(&w, b_birth);
    if (b_sex.n > 0) put_span(&w, b_sex);
    end(&w);
    if (death.n > 0) {
        begin(&w, "DTP");
        put_c(&w, "442"), put_c(&w, "D8"), put_span(&w, death);
        end(&w);
    }

    /* 2110C (reply271._benefits) */
    int sections = sections_of(asked);
    char amount[32], number[32];
    for (int part = 0; part < 2; part++) {
        const char *letter = part == 0 ? "A" : "B", *insurance = part == 0 ? "MA" : "MB";
        Span types = part == 0 ? types_a : types_b;
        int periods = 0;
        for (Py_ssize_t i = 0; ent != NULL && i < ent->n; i++) {
            Span f[3];
            if (!j_texts(&doc, j_row(JITEM(ent, i), 3), f, 3)) goto decline;
            Span which = f[0], s = f[1], e = f[2];
            if (!span_eq(which, letter)) continue;
            periods++;
            int active = covers(s, e, start);
            begin(&w, "EB");
            put_c(&w, active ? "1" : "6"), put_c(&w, "");
            if (active) put_rq(&w, types);
            else put_c(&w, "30");
            put_c(&w, insurance);
            end(&w);
            dtp(&w, "291", s, e);
            if (esrd && part == 0 && active) segment(&w, "MSG", "ENTITLED BASED ON END STAGE RENAL DISEASE", NULL);
        }
        if (periods == 0) segment(&w, "EB", "6", "", "30", insurance, NULL);
    }
    if (sections & DEDUCTIBLES) {
        for (Py_ssize_t i = 0; ded != NULL && i < ded->n; i++) {
            const JNode *r = j_row(JITEM(ded, i), 5);
            Span which, s, e;
            long long base, remaining;
            if (r == NULL) goto decline;
            JTEXT(JITEM(r, 0), which);
            JTEXT(JITEM(r, 1), s);
            JTEXT(JITEM(r, 2), e);
            if (!j_count(JITEM(r, 3), &base) || !j_count(JITEM(r, 4), &remaining)) goto decline;
            int is_a = span_eq(which, "A");
            const char *insurance = is_a ? "MA" : "MB", *base_period = is_a ? "26" : "23";
            money(amount, base);
            segment(&w, "EB", "C", "", "30", insurance, "", base_period, amount, NULL);
            dtp(&w, "291", s, e);
            money(amount, remaining);
            segment(&w, "EB", "C", "", "30", insurance, "", "29", amount, NULL);
            dtp(&w, "291", s, e);
        }
    } else if (ded != NULL) {
        for (Py_ssize_t i = 0; i < ded->n; i++)
            if (j_row(JITEM(ded, i), 5) == NULL) goto decline;
    }
    for (Py_ssize_t i = 0; days != NULL && i < days->n; i++) {
        const JNode *r = j_row(JITEM(days, i), 6);
        Span kind, s, e;
        long long used, remaining, coinsurance;
        if (r == NULL) goto decline;
        JTEXT(JITEM(r, 0), kind);
        JTEXT(JITEM(r, 1), s);
        JTEXT(JITEM(r, 2), e);
        if (!j_count(JITEM(r, 3), &used) || !j_count(JITEM(r, 4), &remaining) || !j_count(JITEM(r, 5), &coinsurance))
            goto decline;
        decimal(number, remaining);
        if (span_eq(kind, "hospital") && (sections & HOSPITAL)) {
            if (coinsurance) {
                money(amount, coinsurance);
                segment(&w, "EB", "B", "", "30", "MA", "", "7", amount, NULL);
            }
            segment(&w, "EB", "F", "", "48", "MA", "", "29", "", "", "DY", number, NULL);
            dtp(&w, "291", s, e);
        } else if (span_eq(kind, "snf") && (sections & SNF)) {
            if (coinsurance) {
                char at_rate[32];
                decimal(at_rate, remaining < 80 ? remaining : 80); /* SNF_COINSURANCE_DAYS */
                money(amount, coinsurance);
                segment(&w, "EB", "B", "", "AG", "MA", "", "29", amount, "", "DY", at_rate, NULL);
            }
            segment(&w, "EB", "F", "", "AG", "MA", "", "29", "", "", "DY", number, NULL);
            dtp(&w, "291", s, e);
        } else if (span_eq(kind, "lifetime_reserve") && (sections & HOSPITAL)) {
            segment(&w, "EB", "K", "", "30", "MA", "", "33", "", "", "DY", number, NULL);
        }
    }
    for (Py_ssize_t i = 0; ma != NULL && i < ma->n; i++) {
        const JNode *r = j_row(JITEM(ma, i), 7), *a;
        Span contract, pbp, plan, s, e, phone, pa[5];
        if (r == NULL || (a = j_row(JITEM(r, 5), 5)) == NULL) goto decline;
        JTEXT(JITEM(r, 0), contract);
        JTEXT(JITEM(r, 1), pbp);
        JTEXT(JITEM(r, 2), plan);
        JTEXT(JITEM(r, 3), s);
        JTEXT(JITEM(r, 4), e);
        JTEXT(JITEM(r, 6), phone);
        for (int k = 0; k < 5; k++) JTEXT(JITEM(a, k), pa[k]);
        if (!(sections & ADVANTAGE) || !overlaps(s, e, start, stop)) continue;
        segment(&w, "EB", "R", "", "30", "HN", NULL);
        plan_reference(&w, contract, pbp);
        dtp(&w, "290", s, e);
        plan_loop_start(&w);
        begin(&w, "NM1");
        put_c(&w, "PRP"), put_c(&w, "2"), put_span(&w, plan);
        end(&w);
        if (pa[0].n > 0) {
            begin(&w, "N3");
            put_span(&w, pa[0]);
            end(&w);
            n4(&w, pa[2], pa[3], pa[4]);
        }
        if (phone.n > 0) {
            begin(&w, "PER");
            put_c(&w, "IC"), put_c(&w, ""), put_c(&w, "TE"), put_span(&w, phone);
            end(&w);
        }
        plan_loop_end(&w);
    }
    for (Py_ssize_t i = 0; pdp != NULL && i < pdp->n; i++) {
        Span f[5];
        if (!j_texts(&doc, j_row(JITEM(pdp, i), 5), f, 5)) goto decline;
        Span contract = f[0], pbp = f[1], plan = f[2], s = f[3], e = f[4];
        if (!(sections & DRUG) || !overlaps(s, e, start, stop)) continue;
        segment(&w, "EB", "R", "", "88", NULL);
        plan_reference(&w, contract, pbp);
        dtp(&w, "292", s, e);
        plan_loop_start(&w);
        begin(&w, "NM1");
        put_c(&w, "PR"), put_c(&w, "2"), put_span(&w, plan);
        end(&w);
        plan_loop_end(&w);
    }
    for (Py_ssize_t i = 0; msp != NULL && i < msp->n; i++) {
        Span f[5]; /* type, insurer, start, end, policy number (not reported) */
        if (!j_texts(&doc, j_row(JITEM(msp, i), 5), f, 5)) goto decline;
        Span type = f[0], insurer = f[1], s = f[2], e = f[3];
        if (!(sections & MSP) || !overlaps(s, e, start, stop)) continue;
        begin(&w, "EB");
        put_c(&w, "R"), put_c(&w, ""), put_c(&w, "30"), put_span(&w, type);
        end(&w);
        dtp(&w, "290", s, e);
        plan_loop_start(&w);
        begin(&w, "NM1");
        put_c(&w, "PRP"), put_c(&w, "2"), put_span(&w, insurer);
        end(&w);
        plan_loop_end(&w);
    }
    for (int which = 0; which < 2; which++) { /* hospice, then home health (_provider_episode) */
        const JNode *list = which == 0 ? hospice : hh;
        const char *service_type = which == 0 ? "45" : "42", *qualifier = which == 0 ? "292" : "472";
        int wanted = sections & (which == 0 ? HOSPICE : HOME_HEALTH);
        for (Py_ssize_t i = 0; list != NULL && i < list->n; i++) {
            Span f[3];
            if (!j_texts(&doc, j_row(JITEM(list, i), 3), f, 3)) goto decline;
            Span npi = f[0], s = f[1], e = f[2];
            if (!wanted) continue;
            segment(&w, "EB", "X", "", service_type, "MA", "", "26", NULL);
            dtp(&w, qualifier, s, e);
            plan_loop_start(&w);
            begin(&w, "NM1");
            put_c(&w, "1P"), put_c(&w, "2"), put_c(&w, ""), put_c(&w, ""), put_c(&w, ""), put_c(&w, "");
            put_c(&w, ""), put_c(&w, "XX"), put_span(&w, npi);
            end(&w);
            plan_loop_end(&w);
        }
    }
    /* Preventive services, then the procedures asked with no date on file (each code once). */
    Span answered[MAX_ANSWERED];
    int n_answered = 0;
    for (Py_ssize_t i = 0; preventive != NULL && i < preventive->n; i++) {
        const JNode *r = j_row(JITEM(preventive, i), 3);
        Span hcpcs, service_type, next;
        if (r == NULL || !j_text(JITEM(r, 0), &hcpcs) || !j_text(JITEM(r, 1), &service_type) ||
            !j_text(JITEM(r, 2), &next))
            goto decline;
        if ((sections & PREVENTIVE) || tuple_has(asked, service_type) || tuple_has(procedures, hcpcs)) {
            eb_procedure(&w, service_type, hcpcs);
            begin(&w, "DTP");
            put_c(&w, "348"), put_c(&w, "D8"), put_span(&w, next);
            end(&w);
            if (n_answered == MAX_ANSWERED) goto decline;
            answered[n_answered++] = hcpcs;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(procedures); i++) {
        Span c;
        if (!text_of(PyTuple_GET_ITEM(procedures, i), &c)) goto decline;
        int seen = 0;
        for (int k = 0; k < n_answered && !seen; k++) seen = spans_equal(answered[k], c);
        if (seen) continue;
        eb_procedure(&w, THIRTY, c);
        segment(&w, "MSG", "NO NEXT ELIGIBLE DATE ON FILE FOR THIS PROCEDURE", NULL);
        if (n_answered == MAX_ANSWERED) goto decline;
        answered[n_answered++] = c;
    }

    /* The trailers. */
    char se01[24];
    decimal(se01, w.segments + 2);
    begin(&w, "SE");
    put_c(&w, se01), put_rq(&w, st02);
    end(&w);
    begin(&w, "GE");
    put_c(&w, "1"), put_rq(&w, gs06);
    end(&w);
    begin(&w, "IEA");
    put_c(&w, "1"), put_rq(&w, isa13);
    end(&w);
    if (w.no_mem) goto fail;
    if (w.bad) goto decline;
    result = PyBytes_FromStringAndSize(w.p, w.n);
    goto done;
decline:
    result = Py_None;
    Py_INCREF(result);
    goto done;
fail:
    if (!PyErr_Occurred()) PyErr_NoMemory();
    result = NULL;
done:
    PyMem_Free(w.p);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL, "The values of a 270 the interchange expression matched, or None (see the module)."},
    {"render", (PyCFunction)(void (*)(void))render, METH_FASTCALL, "The 271 for a scanned 270 and its record, or None (see the module)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hetsock._native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__native(void) {
    for (int c = 0x20; c <= 0x7e; c++) J_PLAIN[c] = c != '"' && c != '\\';
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
    return PyModule_Create(&module);
}
