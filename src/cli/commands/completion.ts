import type { Command } from 'commander';
import { UsageError } from '../cli-errors';
import { examples } from './common';

/** Every command path and the options it takes: what the completion scripts offer. */
function words(root: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const walk = (command: Command, prefix: string) => {
    const subs = command.commands.flatMap((c) => [c.name(), ...c.aliases()]);
    const options = command.options.flatMap((o) => [o.long, o.short].filter((x): x is string => Boolean(x)));
    table.set(prefix, [...subs, ...options, '--help']);
    for (const c of command.commands) for (const name of [c.name(), ...c.aliases()]) walk(c, prefix ? `${prefix} ${name}` : name);
  };
  walk(root, '');
  return table;
}

function bash(root: Command): string {
  const entries = [...words(root)]
    .map(([path, list]) => `  [${JSON.stringify(path ? `berth ${path}` : 'berth')}]=${JSON.stringify(list.join(' '))}`)
    .join('\n');
  return `# berth completion for bash: source <(berth completion bash)
declare -gA _berth_words=(
${entries}
)
_berth() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="berth" word i
  # The deepest command the words so far name; options and their values are skipped.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n "\${_berth_words["$path $word"]+set}" ]]; then path="$path $word"; fi
  done
  COMPREPLY=( $(compgen -W "\${_berth_words[$path]}" -- "$cur") )
}
complete -o default -F _berth berth
`;
}

function zsh(root: Command): string {
  return `#compdef berth
# berth completion for zsh: source <(berth completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(root)}`;
}

export function registerCompletion(program: Command): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script (bash or zsh)')
    .addHelpText('after', examples('source <(berth completion bash)', "berth completion bash > /etc/bash_completion.d/berth"))
    .action((shell: string) => {
      if (shell === 'bash') process.stdout.write(bash(program));
      else if (shell === 'zsh') process.stdout.write(zsh(program));
      else throw new UsageError(`completion for bash or zsh, not ${JSON.stringify(shell)}`);
    });
}
