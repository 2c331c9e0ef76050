/* hetsock._audit_native: the audit writer's per-record work in C, for the usual records only.
 *
 * The Python code is the reference (hetsock/audit/record.py record_of, hetsock/audit/sqlite.py
 * _row); this module gives exactly what it gives, or hands the item to it. hetsock/audit/native.py
 * is the only caller:
 *
 *   records(exchanges, inner_pad, outer_pad, origin, first, record_type, kinds, fallback)
 *       The AuditRecord of each Exchange, numbered first, first + 1, ...: what
 *       record_of(exchange, key, origin=origin, sequence=n) returns. inner_pad and outer_pad are
 *       the HMAC key's two 64-byte blocks (key XOR 0x36, key XOR 0x5c); kinds is (ELIGIBILITY,
 *       REJECTION, ACK_999). An exchange this code does not take (a 999, whose codes are read
 *       from its payload; a client value holding NUL; an MBI that is not ASCII; any value of an
 *       unexpected type) is passed to fallback(exchange, sequence), the Python record_of.
 *
 *   values(records, fallback)
 *       The SQLite INSERT's bound values of each record, 22 a record, in one flat list: what
 *       _row(record) gives, chained. A record this code does not take (traces that JSON would
 *       escape: a quote, a backslash, a control character; a value of an unexpected type) is
 *       passed to fallback(record), the Python _row.
 *
 * The MBI's keyed hash is HMAC-SHA256 (RFC 2104) with SHA-256 (FIPS 180-4) written out below:
 * OpenSSL through hashlib costs three Python objects a record (tests/test_audit_native.py checks
 * the two against each other and against the standard's test vectors). Every read of a tuple is
 * size-checked first; nothing here trusts the shape it was given.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <stdint.h>
#include <string.h>

/* --- SHA-256 ------------------------------------------------------------------------------ */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint32_t H256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t state[8], const unsigned char block[64]) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = ((uint32_t)block[4 * i] << 24) | ((uint32_t)block[4 * i + 1] << 16) |
               ((uint32_t)block[4 * i + 2] << 8) | (uint32_t)block[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    state[0] += a, state[1] += b, state[2] += c, state[3] += d;
    state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

/* The digest of (the 64 bytes already taken into `mid`) + data: `data` of any length. */
static void sha256_after_block(const uint32_t mid[8], const unsigned char *data, size_t n, unsigned char out[32]) {
    uint32_t state[8];
    memcpy(state, mid, sizeof(state));
    size_t done = 0;
    for (; n - done >= 64; done += 64) sha256_block(state, data + done);
    unsigned char tail[128];
    size_t rest = n - done;
    memcpy(tail, data + done, rest);
    tail[rest] = 0x80;
    size_t total = rest + 1 + 8 <= 64 ? 64 : 128;
    memset(tail + rest + 1, 0, total - rest - 1);
    uint64_t bits = (uint64_t)(64 + n) * 8;
    for (int i = 0; i < 8; i++) tail[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha256_block(state, tail);
    if (total == 128) sha256_block(state, tail + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(state[i] >> 24), out[4 * i + 1] = (unsigned char)(state[i] >> 16);
        out[4 * i + 2] = (unsigned char)(state[i] >> 8), out[4 * i + 3] = (unsigned char)state[i];
    }
}

static void sha256_mid(const unsigned char block[64], uint32_t mid[8]) {
    memcpy(mid, H256, sizeof(H256));
    sha256_block(mid, block);
}

/* --- records ------------------------------------------------------------------------------ */

#define EXCHANGE_SIZE 6
#define REPLY_SIZE 13
#define RECORD_SIZE 22

static PyObject *S_timestamp, *S_value, *S_worker, *S_id, *S_peer_host, *S_peer_port, *S_empty, *S_comma;
static PyObject *S_aaa, *S_ta1, *S_41, *S_43, *EMPTY_TUPLE;

/* Whether `s` is an exact str holding no NUL. */
static int clean_text(PyObject *s) {
    return PyUnicode_CheckExact(s) && PyUnicode_FindChar(s, 0, 0, PyUnicode_GET_LENGTH(s), 1) == -1;
}

static int clean_texts(PyObject *t) {
    if (!PyTuple_CheckExact(t)) return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++)
        if (!clean_text(PyTuple_GET_ITEM(t, i))) return 0;
    return 1;
}

static int all_str(PyObject *t) {
    if (!PyTuple_CheckExact(t)) return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(t); i++)
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(t, i))) return 0;
    return 1;
}

/* str.isspace() for an ASCII character (str.strip() drops these, \x1c-\x1f included). */
static int ascii_space(Py_UCS1 c) { return c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f); }

/* mbi_hash(key, member_id); NULL with no exception: not taken here (not ASCII). */
static PyObject *mbi_hash(PyObject *member_id, const uint32_t inner[8], const uint32_t outer[8]) {
    if (!PyUnicode_IS_ASCII(member_id)) return NULL;
    const Py_UCS1 *p = PyUnicode_1BYTE_DATA(member_id);
    Py_ssize_t start = 0, end = PyUnicode_GET_LENGTH(member_id);
    while (start < end && ascii_space(p[start])) start++;
    while (end > start && ascii_space(p[end - 1])) end--;
    if (start == end) return Py_NewRef(S_empty);
    size_t n = (size_t)(end - start);
    unsigned char stack[256], *upper = n <= sizeof(stack) ? stack : PyMem_Malloc(n);
    if (upper == NULL) return PyErr_NoMemory();
    for (size_t i = 0; i < n; i++) {
        Py_UCS1 c = p[start + (Py_ssize_t)i];
        upper[i] = (unsigned char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    unsigned char digest[32], final[32];
    sha256_after_block(inner, upper, n, digest);
    if (upper != stack) PyMem_Free(upper);
    sha256_after_block(outer, digest, 32, final);
    static const char hex[] = "0123456789abcdef";
    char text[32];
    for (int i = 0; i < 16; i++) text[2 * i] = hex[final[i] >> 4], text[2 * i + 1] = hex[final[i] & 15];
    return PyUnicode_FromStringAndSize(text, 32);
}

/* reply_codes(reply) for all but a 999; NULL with no exception: not taken here. */
static PyObject *codes_of(PyObject *aaa_codes, PyObject *ta1_note, PyObject *error_code) {
    Py_ssize_t n = PyTuple_GET_SIZE(aaa_codes);
    if (n) {
        PyObject *codes = PyTuple_New(n);
        if (codes == NULL) return NULL;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *code = PyUnicode_Concat(S_aaa, PyTuple_GET_ITEM(aaa_codes, i));
            if (code == NULL) {
                Py_DECREF(codes);
                return NULL;
            }
            PyTuple_SET_ITEM(codes, i, code);
        }
        return codes;
    }
    PyObject *single = NULL;
    if (PyUnicode_GET_LENGTH(ta1_note))
        single = PyUnicode_Concat(S_ta1, ta1_note);
    else if (PyUnicode_GET_LENGTH(error_code))
        single = Py_NewRef(error_code);
    else
        return Py_NewRef(EMPTY_TUPLE);
    if (single == NULL) return NULL;
    PyObject *codes = PyTuple_Pack(1, single);
    Py_DECREF(single);
    return codes;
}

/* "YYYY-MM-DD", as date.isoformat() writes it. */
static PyObject *iso_day(PyObject *moment) {
    int y = PyDateTime_GET_YEAR(moment), m = PyDateTime_GET_MONTH(moment), d = PyDateTime_GET_DAY(moment);
    char text[10] = {(char)('0' + y / 1000 % 10), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
                     (char)('0' + y % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
                     (char)('0' + d / 10), (char)('0' + d % 10)};
    return PyUnicode_FromStringAndSize(text, 10);
}

/* The record of one exchange; NULL with no exception set: not taken here. */
static PyObject *record(PyObject *e, const uint32_t inner[8], const uint32_t outer[8], PyObject *origin,
                        Py_ssize_t sequence, PyTypeObject *type, PyObject *kinds) {
    if (!PyTuple_Check(e) || PyTuple_GET_SIZE(e) != EXCHANGE_SIZE) return NULL;
    PyObject *connection = PyTuple_GET_ITEM(e, 0), *reply = PyTuple_GET_ITEM(e, 1);
    PyObject *received = PyTuple_GET_ITEM(e, 2), *replied = PyTuple_GET_ITEM(e, 3);
    PyObject *latency = PyTuple_GET_ITEM(e, 4), *delivered = PyTuple_GET_ITEM(e, 5);
    if (!PyTuple_Check(reply) || PyTuple_GET_SIZE(reply) != REPLY_SIZE) return NULL;
    if (!PyDateTime_Check(received) || !PyDateTime_Check(replied)) return NULL;
    PyObject *kind = PyTuple_GET_ITEM(reply, 0);
    PyObject *submitter = PyTuple_GET_ITEM(reply, 2), *npi = PyTuple_GET_ITEM(reply, 3);
    PyObject *control = PyTuple_GET_ITEM(reply, 4), *reference = PyTuple_GET_ITEM(reply, 5);
    PyObject *traces = PyTuple_GET_ITEM(reply, 6), *service_types = PyTuple_GET_ITEM(reply, 7);
    PyObject *aaa_loop = PyTuple_GET_ITEM(reply, 8), *aaa_codes = PyTuple_GET_ITEM(reply, 9);
    PyObject *ta1_note = PyTuple_GET_ITEM(reply, 10), *error_code = PyTuple_GET_ITEM(reply, 11);
    PyObject *member_id = PyTuple_GET_ITEM(reply, 12);
    if (kind == PyTuple_GET_ITEM(kinds, 2)) return NULL; /* a 999: its codes come from its payload */
    if (!clean_text(submitter) || !clean_text(npi) || !clean_text(control) || !clean_text(reference) ||
        !clean_texts(traces) || !clean_texts(service_types) || !PyUnicode_CheckExact(aaa_loop) ||
        !all_str(aaa_codes) || !PyUnicode_CheckExact(ta1_note) || !PyUnicode_CheckExact(error_code) ||
        !PyUnicode_CheckExact(member_id))
        return NULL;
    PyObject *npi_ok = Py_None;
    if (kind == PyTuple_GET_ITEM(kinds, 0) || kind == PyTuple_GET_ITEM(kinds, 1)) {
        npi_ok = Py_True;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(aaa_codes); i++) {
            PyObject *code = PyTuple_GET_ITEM(aaa_codes, i);
            if (PyUnicode_Compare(code, S_41) == 0 || PyUnicode_Compare(code, S_43) == 0) npi_ok = Py_False;
        }
    }
    PyObject *hashed = mbi_hash(member_id, inner, outer);
    if (hashed == NULL) return NULL;
    PyObject *v[RECORD_SIZE] = {NULL};
    v[0] = PyObject_CallMethodNoArgs(received, S_timestamp);
    v[1] = PyObject_CallMethodNoArgs(replied, S_timestamp);
    v[2] = iso_day(received);
    v[3] = PyObject_GetAttr(connection, S_worker);
    v[4] = PyObject_GetAttr(connection, S_id);
    v[5] = PyObject_GetAttr(connection, S_peer_host);
    v[6] = PyObject_GetAttr(connection, S_peer_port);
    v[7] = Py_NewRef(submitter), v[8] = Py_NewRef(npi), v[9] = hashed;
    v[10] = Py_NewRef(reference), v[11] = Py_NewRef(control);
    v[12] = Py_NewRef(traces), v[13] = Py_NewRef(service_types);
    v[14] = PyObject_GetAttr(kind, S_value);
    v[15] = codes_of(aaa_codes, ta1_note, error_code);
    v[16] = Py_NewRef(aaa_loop), v[17] = Py_NewRef(npi_ok);
    v[18] = Py_NewRef(delivered), v[19] = Py_NewRef(latency);
    v[20] = Py_NewRef(origin), v[21] = PyLong_FromSsize_t(sequence);
    int failed = 0;
    for (int i = 0; i < RECORD_SIZE; i++)
        if (v[i] == NULL) failed = 1;
    PyObject *made = failed ? NULL : type->tp_alloc(type, RECORD_SIZE);
    if (made == NULL) {
        for (int i = 0; i < RECORD_SIZE; i++) Py_XDECREF(v[i]);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return NULL;
    }
    for (int i = 0; i < RECORD_SIZE; i++) PyTuple_SET_ITEM(made, i, v[i]);
    return made;
}

/* Whether `type` is a tuple subclass laid out as tuple itself (a named tuple: no other fields),
 * so tp_alloc and PyTuple_SET_ITEM make one as tuple.__new__(type, items) would. */
static int tuple_layout(PyObject *type) {
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) return 0;
    PyTypeObject *t = (PyTypeObject *)type;
    return t->tp_basicsize == PyTuple_Type.tp_basicsize && t->tp_itemsize == PyTuple_Type.tp_itemsize &&
           t->tp_dictoffset == 0;
}

static int pad_state(PyObject *pad, uint32_t mid[8]) {
    if (!PyBytes_Check(pad) || PyBytes_GET_SIZE(pad) != 64) {
        PyErr_SetString(PyExc_ValueError, "a pad is 64 bytes");
        return -1;
    }
    sha256_mid((const unsigned char *)PyBytes_AS_STRING(pad), mid);
    return 0;
}

static PyObject *records(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError,
                        "records(exchanges, inner_pad, outer_pad, origin, first, record_type, kinds, fallback)");
        return NULL;
    }
    PyObject *exchanges = args[0], *origin = args[3], *type = args[5], *kinds = args[6], *fallback = args[7];
    Py_ssize_t first = PyLong_AsSsize_t(args[4]);
    if (first == -1 && PyErr_Occurred()) return NULL;
    if (!PyList_Check(exchanges) || !PyUnicode_Check(origin) || !tuple_layout(type) || !PyTuple_Check(kinds) ||
        PyTuple_GET_SIZE(kinds) != 3) {
        PyErr_SetString(PyExc_TypeError, "records: a list, a str origin, a named tuple type and three kinds");
        return NULL;
    }
    uint32_t inner[8], outer[8];
    if (pad_state(args[1], inner) < 0 || pad_state(args[2], outer) < 0) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(exchanges);
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(exchanges, i);
        PyObject *made = record(e, inner, outer, origin, first + i, (PyTypeObject *)type, kinds);
        if (made == NULL) {
            if (PyErr_Occurred()) goto fail;
            PyObject *sequence = PyLong_FromSsize_t(first + i);
            if (sequence == NULL) goto fail;
            made = PyObject_CallFunctionObjArgs(fallback, e, sequence, NULL);
            Py_DECREF(sequence);
            if (made == NULL) goto fail;
        }
        PyList_SET_ITEM(out, i, made);
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* --- SQLite values ------------------------------------------------------------------------ */

/* orjson.dumps(traces).decode() for traces JSON need not escape (and orjson can encode: no lone
 * surrogate); NULL with no exception: not taken here. */
static PyObject *json_texts(PyObject *t) {
    if (!PyTuple_CheckExact(t)) return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *s = PyTuple_GET_ITEM(t, i);
        if (!PyUnicode_CheckExact(s)) return NULL;
        Py_ssize_t length = PyUnicode_GET_LENGTH(s);
        int kind = PyUnicode_KIND(s);
        const void *data = PyUnicode_DATA(s);
        for (Py_ssize_t j = 0; j < length; j++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, j);
            if (c < 0x20 || c == '"' || c == '\\' || (c >= 0xd800 && c <= 0xdfff)) return NULL;
        }
    }
    if (n == 0) return PyUnicode_FromString("[]");
    PyObject *separator = PyUnicode_FromString("\",\"");
    if (separator == NULL) return NULL;
    PyObject *inside = PyUnicode_Join(separator, t);
    Py_DECREF(separator);
    if (inside == NULL) return NULL;
    PyObject *text = PyUnicode_FromFormat("[\"%U\"]", inside);
    Py_DECREF(inside);
    return text;
}

static int append_values(PyObject *out, PyObject *r) {
    if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != RECORD_SIZE) return 0;
    PyObject *npi_ok = PyTuple_GET_ITEM(r, 17), *delivered = PyTuple_GET_ITEM(r, 18);
    PyObject *origin = PyTuple_GET_ITEM(r, 20);
    if ((npi_ok != Py_None && !PyBool_Check(npi_ok)) || !PyBool_Check(delivered) || !PyUnicode_Check(origin) ||
        !all_str(PyTuple_GET_ITEM(r, 13)) || !all_str(PyTuple_GET_ITEM(r, 15)))
        return 0;
    PyObject *traces = json_texts(PyTuple_GET_ITEM(r, 12));
    if (traces == NULL) return PyErr_Occurred() ? -1 : 0;
    PyObject *v[RECORD_SIZE] = {NULL};
    for (int i = 0; i < 12; i++) v[i] = Py_NewRef(PyTuple_GET_ITEM(r, i));
    v[12] = traces;
    v[13] = PyUnicode_Join(S_comma, PyTuple_GET_ITEM(r, 13));
    v[14] = Py_NewRef(PyTuple_GET_ITEM(r, 14));
    v[15] = PyUnicode_Join(S_comma, PyTuple_GET_ITEM(r, 15));
    v[16] = Py_NewRef(PyTuple_GET_ITEM(r, 16));
    v[17] = npi_ok == Py_None ? Py_NewRef(Py_None) : PyLong_FromLong(npi_ok == Py_True);
    v[18] = PyLong_FromLong(delivered == Py_True);
    v[19] = Py_NewRef(PyTuple_GET_ITEM(r, 19));
    int has_origin = PyUnicode_GET_LENGTH(origin) > 0;
    v[20] = Py_NewRef(has_origin ? origin : Py_None);
    v[21] = Py_NewRef(has_origin ? PyTuple_GET_ITEM(r, 21) : Py_None);
    int status = 1;
    for (int i = 0; i < RECORD_SIZE; i++) {
        if (v[i] == NULL) status = -1;
        else if (status == 1 && PyList_Append(out, v[i]) < 0) status = -1;
        Py_XDECREF(v[i]);
    }
    return status;
}

static PyObject *values(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "values(records: list, fallback)");
        return NULL;
    }
    PyObject *rows = args[0], *fallback = args[1];
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(rows); i++) {
        PyObject *r = PyList_GET_ITEM(rows, i);
        int status = append_values(out, r);
        if (status < 0) goto fail;
        if (status == 0) { /* the Python _row, then its values */
            PyObject *row = PyObject_CallOneArg(fallback, r);
            if (row == NULL) goto fail;
            if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != RECORD_SIZE) {
                Py_DECREF(row);
                PyErr_SetString(PyExc_TypeError, "values: the fallback gives 22 values");
                goto fail;
            }
            for (Py_ssize_t j = 0; j < RECORD_SIZE; j++)
                if (PyList_Append(out, PyTuple_GET_ITEM(row, j)) < 0) {
                    Py_DECREF(row);
                    goto fail;
                }
            Py_DECREF(row);
        }
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* hmac_sha256(pad_inner, pad_outer, message) -> 32 bytes: for the tests. */
static PyObject *hmac_sha256(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyBytes_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "hmac_sha256(inner_pad, outer_pad, message: bytes)");
        return NULL;
    }
    uint32_t inner[8], outer[8];
    if (pad_state(args[0], inner) < 0 || pad_state(args[1], outer) < 0) return NULL;
    unsigned char digest[32], final[32];
    sha256_after_block(inner, (const unsigned char *)PyBytes_AS_STRING(args[2]), (size_t)PyBytes_GET_SIZE(args[2]),
                       digest);
    sha256_after_block(outer, digest, 32, final);
    return PyBytes_FromStringAndSize((const char *)final, 32);
}

static PyMethodDef methods[] = {
    {"records", (PyCFunction)(void (*)(void))records, METH_FASTCALL, "The audit records of exchanges (see the module)."},
    {"values", (PyCFunction)(void (*)(void))values, METH_FASTCALL, "The INSERT values of records (see the module)."},
    {"hmac_sha256", (PyCFunction)(void (*)(void))hmac_sha256, METH_FASTCALL, "HMAC-SHA256 from the key's pads."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "hetsock._audit_native", NULL, -1, methods};

PyMODINIT_FUNC PyInit__audit_native(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL) return NULL;
#define INTERN(var, text) \
    if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    INTERN(S_timestamp, "timestamp");
    INTERN(S_value, "_value_");
    INTERN(S_worker, "worker");
    INTERN(S_id, "id");
    INTERN(S_peer_host, "peer_host");
    INTERN(S_peer_port, "peer_port");
    INTERN(S_empty, "");
    INTERN(S_comma, ",");
    INTERN(S_aaa, "AAA");
    INTERN(S_ta1, "TA1-");
    INTERN(S_41, "41");
    INTERN(S_43, "43");
#undef INTERN
    if ((EMPTY_TUPLE = PyTuple_New(0)) == NULL) return NULL;
    return PyModule_Create(&module);
}
