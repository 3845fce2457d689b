/**
 * The one way we build JSON-schema validators (routes, and analytics events checked
 * one by one), so every part of the API agrees on what a format means.
 */
import Ajv, { type Options } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * A uuid as PostgreSQL's uuid type reads it back: 8-4-4-4-12 hex digits. ajv-formats
 * also takes the `urn:uuid:` form, which PostgreSQL refuses; accepting it would turn
 * a client's odd id into a 500.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createAjv(options: Options): Ajv.default {
  const ajv = addFormats.default(new Ajv.default(options));
  ajv.addFormat('uuid', UUID);
  return ajv;
}
