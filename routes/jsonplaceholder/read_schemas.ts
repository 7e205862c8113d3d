/**
 * The schemas of what the JSONPlaceholder reads answer: each resource's
 * item (the OpenAPI document's `Post`, `Comment`, ... components) with the
 * relations json-server adds on request, and the `/users/:id/summary`
 * aggregate. `_embed=comments` on a post adds `comments` (the comments
 * whose `postId` is its id) and `_expand=user` adds `user` (the user its
 * `userId` names), on an item and on every item of a list. The reads pass
 * the query on as it came, so those answers reach the client; the items
 * were declared closed (`additionalProperties: false`), and
 * `prism proxy --errors` answered `GET /posts/1?_embed=comments` with its
 * own 500 ("must NOT have additional properties; found 'comments'").
 *
 * The relations follow from the fields: a resource's children are the
 * resources whose items carry `<noun>Id` (its `_embed` values), its
 * parents the nouns of its own `<noun>Id` fields (its `_expand` values).
 *
 * @module
 */

import { z } from "zod";
import type { ParameterObject } from "../../services/ops/openapi.ts";
import {
  PartErrorSchema,
  type Resource,
  RESOURCE_INFO,
  RESOURCES,
} from "./resources.ts";

const idField = (resource: Resource): string =>
  `${RESOURCE_INFO[resource].noun}Id`;

/** The resources whose items name one of `resource` (`_embed` values). */
export function childrenOf(resource: Resource): Resource[] {
  return RESOURCES.filter((child) =>
    Object.hasOwn(RESOURCE_INFO[child].schema.shape, idField(resource))
  );
}

/** The resources one of `resource` names (their nouns: `_expand`). */
export function parentsOf(resource: Resource): Resource[] {
  return RESOURCES.filter((parent) =>
    Object.hasOwn(RESOURCE_INFO[resource].schema.shape, idField(parent))
  );
}

/**
 * Each resource's item as read: its fields, then its relations, optional.
 * A related item is the other resource's fields alone (json-server adds
 * one level): declared as the items as read, a post's `user` was a user
 * with `posts`, a cycle that `prism mock` wrote out to `{"$ref": null}`
 * and then refused its own answer for.
 */
export const READ_SCHEMAS: Readonly<Record<Resource, z.ZodObject>> = Object
  .fromEntries(RESOURCES.map((resource) => {
    const relations: Record<string, z.ZodType> = {};
    for (const child of childrenOf(resource)) {
      relations[child] = z.array(RESOURCE_INFO[child].schema).optional()
        .describe(`With \`_embed=${child}\`: its ${child}.`);
    }
    for (const parent of parentsOf(resource)) {
      const { noun } = RESOURCE_INFO[parent];
      relations[noun] = RESOURCE_INFO[parent].schema.optional()
        .describe(`With \`_expand=${noun}\`: its ${noun}.`);
    }
    return [resource, RESOURCE_INFO[resource].schema.extend(relations)];
  })) as Record<Resource, z.ZodObject>;

/**
 * The components of the document: `Post`, ... the items as read, and
 * `PostFields`, ... the fields alone (an item embedded in another).
 */
export const READ_COMPONENTS: Readonly<Record<string, z.ZodObject>> = Object
  .fromEntries(RESOURCES.flatMap((resource) => {
    const { name, schema } = RESOURCE_INFO[resource];
    return [[name, READ_SCHEMAS[resource]], [`${name}Fields`, schema]];
  }));

/** `/users/:id/summary`: a user with their posts, todos and albums. */
export const UserSummarySchema = z.object({
  user: READ_SCHEMAS.users,
  posts: z.array(READ_SCHEMAS.posts).nullable(),
  todos: z.array(READ_SCHEMAS.todos).nullable(),
  albums: z.array(READ_SCHEMAS.albums).nullable(),
  errors: z.array(PartErrorSchema)
    .describe("The parts that failed (their value is `null`)."),
});

/**
 * How many times `_embed` or `_expand` may be given: json-server makes a
 * pass over the answer for each (the same name again included), so
 * `/photos` with `_expand` 480 times held its one thread 27 s, and every
 * other client's read meanwhile answered 504. Four cover every relation
 * of a resource (a user's three children); 8 leaves room.
 */
export const MAX_RELATIONS = 8;

/** A list of texts: the values of a repeated query parameter. */
const TEXTS = {
  type: "array",
  items: { type: "string" },
  maxItems: MAX_RELATIONS,
} as const;

/**
 * The `_embed` and `_expand` query parameters `resource`'s reads take (none
 * for a resource without children or parents), without an `example`:
 * Swagger UI's "Try it out" fills one in, and a plain read became
 * `?_embed=comments&_expand=user`. Lists (a repeated one adds each).
 * `_embed` takes the resource's children only: json-server adds an empty
 * list under any other name (`_embed=foo` adds `foo: []`, `_embed=title`
 * makes the title `[]`), which the item's schema does not allow, so a
 * client checking answers against the document refused them; `_expand`
 * takes any text (json-server adds nothing for another name).
 */
export function relationParameters(resource: Resource): ParameterObject[] {
  const { noun } = RESOURCE_INFO[resource];
  const children = childrenOf(resource);
  const parents = parentsOf(resource).map((p) => RESOURCE_INFO[p].noun);
  const list = (names: string[]) => names.map((n) => `\`${n}\``).join(", ");
  const parameters: ParameterObject[] = [];
  if (children.length > 0) {
    parameters.push({
      name: "_embed",
      in: "query",
      description: `Adds to each ${noun} the items of a resource that ` +
        `name it by \`${noun}Id\`, as a list under that resource's name: ` +
        `${list(children)}; repeat it for several (another name is 400), ` +
        `at most ${MAX_RELATIONS} times.`,
      schema: {
        type: "array",
        items: { type: "string", enum: children },
        maxItems: MAX_RELATIONS,
      },
    });
  }
  if (parents.length > 0) {
    parameters.push({
      name: "_expand",
      in: "query",
      description: `Adds to each ${noun} the item its \`<noun>Id\` ` +
        `names, under that noun: ${list(parents)}; repeat it for several, ` +
        `at most ${MAX_RELATIONS} times.`,
      schema: TEXTS,
    });
  }
  return parameters;
}

/**
 * The query parameters `resource`'s reads refuse by name (an operation's
 * `refusedQuery`): `_embed` when no resource names it (comments, photos,
 * todos), for which json-server adds an empty list under each name given.
 */
export function relationRefusals(
  resource: Resource,
): Readonly<Record<string, string>> | undefined {
  if (childrenOf(resource).length > 0) return undefined;
  const { noun } = RESOURCE_INFO[resource];
  return {
    _embed: `no resource names a ${noun} (by \`${noun}Id\`), so a ${noun} ` +
      "has nothing to embed",
  };
}
