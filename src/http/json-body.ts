/**
 * The JSON body parser of every route: Fastify's own (prototype poisoning refused),
 * then the shared limits of validation.ts — depth, and text without NUL or lone
 * surrogates — before any schema or handler walks the body.
 *
 * A route whose body is a list of items checked one by one (analytics events) uses
 * `perItem`: the body is parsed but not walked, and the route checks each item with
 * the same rule, so one bad event is rejected alone instead of taking its batch down.
 * The parser tells it whether the body had any `\u` escape at all (without one, no
 * string in it can hold NUL or a lone surrogate), which spares the text scan on the
 * ingestion path.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { jsonProblem } from '../validation.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** False when the JSON body had no `\u` escape, so no string in it can hold NUL or a lone surrogate. */
    bodyHasEscapes: boolean;
  }
}

type ParseJson = (request: FastifyRequest, body: string, done: (error: Error | null, body?: unknown) => void) => void;

/** Set the JSON parser of this Fastify context (the root, or a feature plugin's own scope). */
export function useJsonBodyParser(app: FastifyInstance, options: { perItem?: boolean } = {}): void {
  if (!app.hasRequestDecorator('bodyHasEscapes')) app.decorateRequest('bodyHasEscapes', true);
  const parse = app.getDefaultJsonParser('error', 'error') as unknown as ParseJson;
  if (app.hasContentTypeParser('application/json')) app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    parse(request, text as string, (error, body) => {
      if (error) return done(error);
      const hasEscapes = (text as string).includes('\\u');
      request.bodyHasEscapes = hasEscapes;
      if (!options.perItem) {
        const problem = jsonProblem(body, { checkText: hasEscapes });
        if (problem) {
          return done(new AppError('SMT_ERR_VALIDATION', `Invalid body: ${problem.path} ${problem.message}`, [problem]));
        }
      }
      done(null, body);
    });
  });
}
