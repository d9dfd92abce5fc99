/**
 * The multicast data stream (docs/PROTOCOL.md, "Multicast data stream"): an image's stored chunks
 * carried over UDP in a looping carousel with Reed-Solomon FEC ({@code engine.fec}), every datagram
 * MAC'd under a per-session secret. No CLI, no actors, no control channel here; those call this
 * API.
 *
 * <h2>Both sides</h2>
 *
 * <ul>
 *   <li>{@link dev.imprint.engine.multicast.StreamParams}: symbol size, k, interleave, parity
 *       bounds; {@code StreamParams.DEFAULT} (1416, 100, 16, 2..50, 10). The client needs {@code
 *       symbolSize} and {@code blockSymbols} from the handshake.
 *   <li>{@link dev.imprint.engine.multicast.SessionKeys}: session id, image digest, MAC secret. The
 *       server calls {@code SessionKeys.generate(image.metadata().digest())}; the handshake gives
 *       the client all three.
 *   <li>{@link dev.imprint.engine.multicast.StreamLayout}{@code .of(index, params)}: the same chunk
 *       → symbol → block map on both sides.
 * </ul>
 *
 * <h2>Server</h2>
 *
 * <pre>{@code
 * StreamLayout layout = StreamLayout.of(image.metadata().index(), params);
 * MulticastSender s = MulticastSender.open(layout, StoredChunks.of(image), keys,
 *     new MulticastSender.Config(group, nif, ttl, dataRate, clientDataRate, adaptive, false, params),
 *     listener);              // listener.loopStarted(loop): "Starting stream <date>"
 * s.start();                  // s.setPaused(true/false) for "start at first client" / Loop Suspend
 * s.report(clientReports);    // every report interval: parity (next loop) and AIMD rate follow
 * s.stats();                  // datagrams, bytes, loop, rate, parity for the status line
 * s.close();                  // stops its threads and closes the socket
 * }</pre>
 *
 * <h2>Client</h2>
 *
 * <pre>{@code
 * Reception r = new Reception(layout, index, keys, sink, decodeExecutor, memoryBudget);
 * MulticastReceiver rx = MulticastReceiver.open(r, group, nif, dataRate, listener);
 * rx.start();                 // listener.receiveBuffer(requested, granted): warn if capped
 * // sink.chunk(entryNumber, entry, decoded): only SHA-256-checked chunks, each once, any order
 * r.progress();               // chunks done, blocks missing, loss rate, forged/foreign counts,
 *                             // fullLoopSeen (time to repair)
 * r.wanted(maxBytes);         // RepairRange list: HTTP ranges of the image file to fetch
 * r.repaired(range, bytes);   // feed the fetched bytes back
 * r.await(timeout, unit);     // true when every chunk was delivered; throws the sink's error
 * rx.close();
 * }</pre>
 *
 * ZERO and UNALLOCATED ranges never travel: the client takes them from the index.
 *
 * <p>Notes for callers: give {@code Reception} an executor that queues (e.g. a fixed pool), never
 * one that runs tasks on the caller or blocks it, since the socket's handler thread submits to it;
 * the sink may block (disk writes), which only makes the reception drop what it cannot hold. {@code
 * Progress.lossRate()} is since the first datagram; for a report interval, diff {@code authentic}
 * and {@code expected} of two snapshots. A client joins mid-loop without anything special: blocks
 * fill in any order, and {@code fullLoopSeen} says when repair makes sense.
 */
package dev.imprint.engine.multicast;
