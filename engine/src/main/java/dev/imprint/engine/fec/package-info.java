/**
 * Forward error correction: a systematic Reed-Solomon erasure code over GF(2^8) in Cauchy form,
 * written from the math ({@link dev.imprint.engine.fec.ReedSolomon} encodes, {@link
 * dev.imprint.engine.fec.FecBlock} collects a block's symbols in k slots, {@link
 * dev.imprint.engine.fec.Decoder} rebuilds the missing sources). docs/PROTOCOL.md, "Forward error
 * correction", specifies it.
 */
package dev.imprint.engine.fec;
