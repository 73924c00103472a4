/**
 * The peer program: `--share PATH…` (the default command), `search`, `get`, `ls`. Each command is
 * a CommandSpec in src/cli/commands/ (its option table, help and run); adding a command is
 * adding it to PEER_COMMANDS. Nothing here loads libp2p: --help and --version answer at once.
 */
import { FileShareError } from '../errors.js'
import { Output } from './output.js'
import { parseCommand, formatHelp, programName, suggest, version, type CommandSpec } from './command.js'
import { shareCommand } from './commands/share.js'
import { searchCommand } from './commands/search.js'
import { getCommand } from './commands/get.js'
import { lsCommand } from './commands/ls.js'

/** The named commands (the sharing peer is the default, without a name). */
export const PEER_COMMANDS: CommandSpec[] = [searchCommand, getCommand, lsCommand]

export function peerOverview (program = programName('peer')): string {
  return [
    `usage: ${program} --share PATH [--share PATH]... [options]    share folders and files until Ctrl-C`,
    `       ${program} search WORDS... [options]                  search the master's index by name`,
    `       ${program} get ID|NAME... [options]                   download verified files from every provider`,
    `       ${program} ls PEER [options]                          list what one peer shares`,
    `       ${program} --version`,
    '',
    `"${program} COMMAND --help" lists a command's options with their defaults and examples.`,
    'The master address comes from --master, else FILESHARE_MASTER, else "master" of config/peer.json.',
    '',
    formatHelp(program, shareCommand)
  ].join('\n')
}

export async function runPeer (argv: string[]): Promise<number> {
  const out = new Output(argv.includes('--json'))
  try {
    if (argv[0] === '--version' || argv[0] === '-V') {
      process.stdout.write(`fileshare ${version()}\n`)
      return 0
    }
    const program = programName('peer')
    const first = argv[0]
    let spec = shareCommand
    let rest = argv
    if (first != null && !first.startsWith('-')) {
      const named = PEER_COMMANDS.find(c => c.name === first)
      if (named == null) {
        const near = suggest(first, PEER_COMMANDS.map(c => c.name))
        throw new FileShareError('USAGE', `unknown command ${JSON.stringify(first)}${near != null ? ` (did you mean ${near}?)` : ''}; commands: ${PEER_COMMANDS.map(c => c.name).join(', ')}, or --share PATH; see ${program} --help`)
      }
      spec = named
      rest = argv.slice(1)
    }
    const hint = spec.name !== '' ? `${program} ${spec.name} --help` : `${program} --help`
    const args = parseCommand(spec, rest, hint)
    if (args.values.help === true) {
      process.stdout.write(spec === shareCommand ? peerOverview(program) : formatHelp(program, spec))
      return 0
    }
    return await spec.run(args, out)
  } catch (err) {
    return out.fail(err)
  }
}
