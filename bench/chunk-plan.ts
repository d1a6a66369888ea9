// How the chunk section's agents stream each reply, shared by the gateway's plugin config and the bare server.
export const CHUNK_PLAN = {
  /** Pieces per reply, drawn uniformly per reply. */
  countMin: 5,
  countMax: 10,
  /** Each piece's audio length (8 kHz mu-law: 160-320 bytes). */
  chunkMsMin: 20,
  chunkMsMax: 40,
  /** Before each piece, the first included. */
  delayMsMin: 20,
  delayMsMax: 40,
};

export const between = (min: number, max: number): number => min + Math.random() * (max - min);
