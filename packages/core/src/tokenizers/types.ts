/**
 * A tokenizer adapter. Detection must use the generating model's tokenizer, so an adapter names
 * itself precisely (name + version of the package that supplies the vocabulary).
 */
export interface Tokenizer {
  /** Stable id used in key files, results and evidence, e.g. `o200k_base`. */
  readonly name: string
  /** Version of the package that supplies the vocabulary, recorded in evidence. */
  readonly version: string
  /** max token id + 1 (o200k_base → 200,019). */
  readonly vocabSize: number
  /** Special-token strings in the text are ordinary text: never throws on `<|endoftext|>`. */
  encode(text: string): Uint32Array
  decode(ids: ArrayLike<number>): string
  /**
   * UTF-16 start offset of each token of `encode(text)` in `text`, plus a final entry equal to
   * `text.length` (length ids.length + 1). A token that starts inside a multi-byte character maps to
   * the start of that character.
   */
  offsets(text: string, ids: Uint32Array): Uint32Array
}
