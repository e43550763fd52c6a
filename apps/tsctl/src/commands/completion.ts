/** `tsctl completion`: yargs' bash/zsh completion script (answers `--get-yargs-completions`). */
import type { CommandGroup } from '../command.js';

export const completionCommand: CommandGroup = {
  tree: ['completion'],
  register: (y) =>
    y.completion('completion', 'Print a shell completion script (e.g. tsctl completion >> ~/.bashrc)'),
};
