/*
 * body_writer.h -- re-encoding a function body while it is validated.
 *
 * `wasync roundtrip --reencode` validates every body and then re-encodes
 * it, and both need the body's instructions decoded.  With
 * WasyncDecodeOptions.reencode_in_validate, the validator hands each
 * instruction it decoded to a body writer instead, so each body is decoded
 * once:
 *
 *   - an instruction the validator's fast decoder read whose bytes already
 *     are its minimal encoding (a one-byte opcode with no immediate, or
 *     with minimal short LEB128s) is part of a run of input bytes that the
 *     validator copies to the output as they are;
 *   - any other instruction goes through wasync_body_writer_instr(), which
 *     writes its minimal encoding and compares it with the input, exactly
 *     as wasync_module_encode() does.
 *
 * The result, kept in WasyncCode.reencoded, is byte for byte the code
 * entry wasync_module_encode() would write for the body (size field width
 * and input spelling kept the same way); the encoder then copies it.  A
 * body a pass replaces afterwards (WasyncCode.replaced) is re-encoded
 * again by the encoder.
 */
#ifndef WASYNC_BODY_WRITER_H
#define WASYNC_BODY_WRITER_H

#include "buf.h"
#include "instr.h"
#include "module.h"

typedef struct WasyncBodyWriter WasyncBodyWriter;

/* A writer appending code entries to `out`; NULL when out of memory. */
WasyncBodyWriter *wasync_body_writer_new(const WasyncModule *m, WasyncBuf *out);
void wasync_body_writer_free(WasyncBodyWriter *w);
/* Starts the code entry of `c` (an input body, not replaced): its size
 * field and locals. */
void wasync_body_writer_begin(WasyncBodyWriter *w, const WasyncCode *c);
/* Writes one instruction decoded from the n input bytes at `bytes`. */
void wasync_body_writer_instr(WasyncBodyWriter *w, const WasyncInstr *in,
                              const uint8_t *bytes, size_t n);
/* Ends the entry; false when it could not be written (out of memory, too
 * large), then the encoder re-encodes the body itself. */
bool wasync_body_writer_end(WasyncBodyWriter *w);

#endif
