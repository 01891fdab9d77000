/**
 * Field schemas of PROTOCOL.md ("Operations"), shared by every request,
 * reply and live-frame schema. Lengths count characters (code points), as
 * PROTOCOL.md does, not UTF-16 units.
 */
import { z } from 'zod';
import { PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, TOKEN_MAX_CHARS, USERNAME_CHARSET, USERNAME_MAX_CHARS } from './limits.ts';

/** Length in characters (code points), as PROTOCOL.md counts them. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** A lone UTF-16 surrogate (JSON's "\ud800") cannot be stored as UTF-8 and would not survive a round trip. */
const LONE_SURROGATE = /\p{Cs}/u;

/** A string of min..max code points; over max is `too_big` (→ too_large), under min `too_small` (→ bad_request). */
export function chars(min: number, max: number) {
  return z.string().superRefine((s, ctx) => {
    const n = charCount(s);
    if (n > max) ctx.addIssue({ code: 'too_big', origin: 'string', maximum: max, inclusive: true, message: `must be at most ${max} characters (got ${n})` });
    else if (n < min) ctx.addIssue({ code: 'too_small', origin: 'string', minimum: min, inclusive: true, message: `must be at least ${min} character${min === 1 ? '' : 's'}` });
    else if (LONE_SURROGATE.test(s)) ctx.addIssue({ code: 'custom', message: 'is not well-formed Unicode (lone surrogate)' });
  });
}

export const Username = chars(1, USERNAME_MAX_CHARS).refine((s) => USERNAME_CHARSET.test(s), {
  message: 'may contain only A-Z a-z 0-9 _ . -',
  abort: true,
});
export const Password = chars(PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS);
export const Token = chars(1, TOKEN_MAX_CHARS);
/** Message ids are positive safe integers (PROTOCOL.md "Guarantees"); `z.int()` admits only safe integers. */
export const MessageId = z.int().min(1);
/** A paging position: 0 means "before the first message". */
export const Cursor = z.int().min(0);
