import type { Command } from 'commander'
import type { DemoCliOptions } from '../impl/demo.js'

/**
 * The main job on embedded defaults: make a key, watermark a response from the reference model,
 * detect it, and show that another key — and unwatermarked text — find nothing.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('make a key, watermark text with the reference model, detect it, and show another key finds nothing')
    .option('--dir <dir>', 'where to write the demo key files (default: a new temporary folder)')
    .option('--scheme <id>', 'scheme to demonstrate', 'kgw')
    .option('--tokens <n>', 'tokens to generate', '200')
    .option('--seed <s>', 'sampling seed', '1')
    .action(async (o: DemoCliOptions) => {
      const { run } = await import('../impl/demo.js')
      return run(o)
    })
}
