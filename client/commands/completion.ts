import { InvalidArgumentError, type Command, type Option } from 'commander';
import { emit } from './context';

/**
 * `drctl completion bash|zsh`: a completion script made from the commands drctl has (so a command another module
 * registers completes too). Install: `drctl completion bash > /etc/bash_completion.d/drctl`, or
 * `source <(drctl completion zsh)` in ~/.zshrc.
 */
export function register(program: Command): void {
  program
    .command('completion')
    .description('Print the shell completion script (bash or zsh): source <(drctl completion bash)')
    .argument('<shell>', 'bash or zsh', (value: string) => {
      if (value !== 'bash' && value !== 'zsh') throw new InvalidArgumentError('the shell is bash or zsh');
      return value;
    })
    .action((shell: 'bash' | 'zsh', _options: unknown, command: Command) => {
      const bash = bashCompletion(program);
      // zsh runs the bash script through its bashcompinit layer.
      const script = shell === 'bash' ? bash : `autoload -U +X bashcompinit && bashcompinit\n${bash}`;
      emit(command, { shell, script }, (c) => c.script);
    });
}

const flags = (options: readonly Option[]) =>
  options.flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f)));

/** The options that take a value: the word after them is not a command. */
const valued = (options: readonly Option[]) =>
  options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter(Boolean));

export function bashCompletion(program: Command): string {
  const globals = [...flags(program.options), '--help'];
  const withValue = new Set(valued(program.options));
  const cases: string[] = [];
  const words = (command: Command) => [...flags(command.options), '--help', ...globals].join(' ');
  for (const command of program.commands) {
    for (const v of valued(command.options)) withValue.add(v);
    if (command.commands.length === 0) {
      // The second word is an argument (a pair): the command's options still complete after it.
      cases.push(`    ${command.name()}/*) words="${words(command)}" ;;`);
      continue;
    }
    cases.push(
      `    ${command.name()}/) words="${command.commands.map((c) => c.name()).join(' ')} ${words(command)}" ;;`,
    );
    for (const sub of command.commands) {
      for (const v of valued(sub.options)) withValue.add(v);
      cases.push(`    ${command.name()}/${sub.name()}) words="${words(sub)}" ;;`);
    }
  }
  const top = [...program.commands.map((c) => c.name()), ...globals].join(' ');
  return `# drctl completion for bash: source <(drctl completion bash)
_drctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmd="" sub="" skip="" i w words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [ -n "$skip" ]; then skip=""; continue; fi
    case "$w" in
      ${[...withValue].join('|')}) skip=1 ;;
      -*) ;;
      *) if [ -z "$cmd" ]; then cmd="$w"; elif [ -z "$sub" ]; then sub="$w"; fi ;;
    esac
  done
  case "$cmd/$sub" in
    /) words="${top}" ;;
${cases.join('\n')}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _drctl drctl`;
}
