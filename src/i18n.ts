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
