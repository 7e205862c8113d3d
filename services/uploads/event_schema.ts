/**
 * The board's events as they travel between instances (`relay.ts`) and as
 * an upload's ending is kept in Redis (`endings.ts`): one schema for what
 * another instance sends. Only what the watchers read is held to a shape
 * (ids, the ending's outcome and status); the figures pass as they came,
 * since the messages come from instances of this service.
 *
 * @module
 */

import { z } from "zod";
import { parseJsonWith } from "../ops/json_text.ts";
import type { BoardEvent, EndingEvent } from "./board.ts";

// An upload id as the routes accept it is 1-128 characters.
const IdSchema = z.string().min(1).max(128);
const ProgressSchema = z.looseObject({ id: IdSchema });

/** An upload's ending: `done` with its result, or `failed`. */
export const EndingEventSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("done"),
    id: IdSchema,
    result: z.looseObject({}),
  }),
  z.object({
    type: z.literal("failed"),
    progress: ProgressSchema,
    outcome: z.string(),
    status: z.number(),
  }),
]);

/** Any event of the board: a tick's progress, or an ending. */
export const BoardEventSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("progress"), uploads: z.array(ProgressSchema) }),
  ...EndingEventSchema.options,
]);

/** A relayed message: the sending instance's random id, and its event. */
export const RelayMessageSchema = z.object({
  from: z.string(),
  event: BoardEventSchema,
});

/** The id of the upload `ending` ends. */
export function endingId(ending: EndingEvent): string {
  return ending.type === "done" ? ending.id : ending.progress.id;
}

/**
 * The ending `text` (JSON) carries, or `undefined` when it is not one.
 * The figures are not checked (see the module doc), hence the cast.
 */
export function parseEnding(text: string): EndingEvent | undefined {
  return parseJsonWith(EndingEventSchema, text) as EndingEvent | undefined;
}

/**
 * The relayed message `text` (JSON) is, or `undefined` when it is not one.
 * The figures are not checked (see the module doc), hence the cast.
 */
export function parseRelayMessage(
  text: string,
): { from: string; event: BoardEvent } | undefined {
  const message = parseJsonWith(RelayMessageSchema, text);
  return message as { from: string; event: BoardEvent } | undefined;
}
