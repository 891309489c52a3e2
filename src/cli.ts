// The imgplay command (placeholder while the engine lands).
export async function main(_argv: string[]): Promise<number> {
  return 0;
}
