/** @tokenmark/transformers — tokenmark watermarks inside @huggingface/transformers' generate(). */
export { WatermarkLogitsProcessor, type WatermarkProcessorOptions } from './processor.js'
