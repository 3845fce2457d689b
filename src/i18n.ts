/**
 * English and Chinese for everything the ops team reads (SMARTALK_LANG=zh-CN).
 * A message is written once, in both languages, where it is used:
 * `say(lang, { en: 'Migrations applied', zh: '迁移已完成' })`.
 */
import type { Lang } from './config.js';

export interface Bilingual {
  en: string;
  zh: string;
}

export function say(lang: Lang, message: Bilingual): string {
  return lang === 'zh-CN' ? message.zh : message.en;
}

/** The language from SMARTALK_LANG without validating the rest of the environment. */
export function envLang(env = process.env): Lang {
  return env.SMARTALK_LANG === 'zh-CN' ? 'zh-CN' : 'en';
}

/**
 * The language a client asks for in Accept-Language ("zh-CN,zh;q=0.9,en;q=0.8"): Chinese
 * when a zh tag outranks every en tag (and *), else English. Malformed parts are skipped.
 */
export function acceptLanguage(header: string | undefined): Lang {
  if (!header) return 'en';
  let zh = 0;
  let en = 0;
  for (const part of header.slice(0, 512).split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    const weight = q === undefined ? 1 : Number(q);
    if (tag === 'zh' || tag.startsWith('zh-')) zh = Math.max(zh, weight);
    else if (tag === 'en' || tag.startsWith('en-') || tag === '*') en = Math.max(en, weight);
  }
  return zh > en ? 'zh-CN' : 'en';
}
