/**
 * The replicated chat state machine: the API the replica runtime calls.
 *
 *   parseRequest / parseRequestBytes   validate a client request (pure; the protocol's, re-exported)
 *   isWrite                            write (prepare → propose → apply) or read
 *   prepareCommand                     leader only: authenticate, check, decide ts/salt/hash/token
 *   CommandCodec                       the entry payload (MessagePack; encode/decodeCommand for one-offs)
 *   applyCommand                       deterministic apply inside the appliedIndex transaction
 *   resolveDeliveries                  live frames → session keys, after commit
 *   executeRead                        accounts, history, conversations
 *
 * See docs/chat.md.
 */
export { isWrite } from './requests.ts';
export type { WriteRequest, ReadRequest } from './requests.ts';
export { prepareCommand, AlreadyApplied } from './prepare.ts';
export type { PrepareContext, Prepared } from './prepare.ts';
export { CommandCodec, encodeCommand, decodeCommand, CommandDecodeError } from './commands.ts';
export type { ChatCommand } from './commands.ts';
export { applyCommand } from './apply.ts';
export { applyCommands, type PositionedCommand } from './apply-run.ts';
export type { ApplyResult, EntryPosition } from './apply.ts';
export { executeRead } from './read.ts';
export { SendFactsCache } from './send-facts-cache.ts';
export { resolveDeliveries } from './deliveries.ts';
export type { Publication } from './deliveries.ts';
export { hashToken } from './sessions.ts';
export type { Delivery } from './model.ts';
export type { ScryptCost } from './passwords.ts';
export { migrateChat, CHAT_TABLES, CHAT_MIGRATIONS } from '../../storage/chat/schema.ts';
/**
 * The protocol's request validation and errors, which the functions above
 * take and return, re-exported so the runtime has one import for the chat API.
 * Declared in actors/protocol, not here.
 */
export { parseRequest, parseRequestBytes, ProtocolError, isProtocolError, BadRequest, TooLarge, Unavailable, Internal } from '../protocol/index.ts';
export type { ChatRequest, OkReply } from '../protocol/index.ts';
