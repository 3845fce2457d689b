/** The catalog as the API shows it: plain objects shaped by learning/schemas.ts. */
import type { Catalog, DramaRow, LockState } from './content.js';
import { PENDING_MEDIA } from './media.js';

/** The absolute URL of a public media path: the CDN when configured, else this server's /videos. */
export type MediaUrl = (path: string) => string;

/** A media file as a phone needs it: where it is, whether it is there yet, and what it is. */
export function mediaView(content: Catalog, mediaUrl: MediaUrl) {
  return (path: string) => ({ url: mediaUrl(path), ...(content.media.get(path)?.state ?? PENDING_MEDIA) });
}

/** A clue's clips in their public order, each with its video (`media`: a mediaView). */
export function clipsView(content: Catalog, keywordId: string, media: ReturnType<typeof mediaView>) {
  return (content.clipsByKeyword.get(keywordId) ?? []).map((clip) => ({
    id: clip.id,
    position: clip.position,
    video: media(clip.video_path),
  }));
}

export function interestsView(content: Catalog) {
  return {
    interests: content.interests.map((row) => ({
      id: row.id,
      name: { en: row.name_en, zh: row.name_zh },
      badge: { en: row.badge_en, zh: row.badge_zh },
      description: { en: row.description_en, zh: row.description_zh },
      chapters: content.dramasByInterest.get(row.id)?.length ?? 0,
    })),
  };
}

/** A page of a theme's chapters: after the cursor's chapter, at most `limit`. */
export interface DramaPage {
  afterChapter: number;
  limit: number;
}

export const DRAMA_PAGE = { default: 50, max: 50 } as const;

export const dramaCursor = {
  encode: (chapter: number) => Buffer.from(`chapter:${chapter}`).toString('base64url'),
  /** The chapter a cursor names, or undefined when it is not one this API gave. */
  decode: (cursor: string): number | undefined => {
    const match = /^chapter:(\d{1,6})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
    return match ? Number(match[1]) : undefined;
  },
};

export function dramaListView(
  content: Catalog,
  interestId: string,
  locks: Map<string, LockState>,
  page: DramaPage = { afterChapter: 0, limit: DRAMA_PAGE.default },
) {
  const after = (content.dramasByInterest.get(interestId) ?? []).filter((drama) => drama.chapter > page.afterChapter);
  const shown = after.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    nextCursor: after.length > shown.length && last ? dramaCursor.encode(last.chapter) : null,
    dramas: shown.map((drama) => ({
      id: drama.id,
      interestId: drama.interest_id,
      chapter: drama.chapter,
      title: { en: drama.title_en, zh: drama.title_zh },
      synopsis: { en: drama.synopsis_en, zh: drama.synopsis_zh },
      durationSeconds: drama.duration_seconds,
      keywordCount: content.keywordsByDrama.get(drama.id)?.length ?? 0,
      locked: locks.get(drama.id)?.locked ?? false,
      requires: locks.get(drama.id)?.requires ?? null,
    })),
  };
}

export function dramaDetailView(content: Catalog, drama: DramaRow, mediaUrl: MediaUrl) {
  const media = mediaView(content, mediaUrl);
  return {
    id: drama.id,
    interestId: drama.interest_id,
    chapter: drama.chapter,
    title: { en: drama.title_en, zh: drama.title_zh },
    synopsis: { en: drama.synopsis_en, zh: drama.synopsis_zh },
    durationSeconds: drama.duration_seconds,
    videos: { subtitled: media(drama.video_subtitled), plain: media(drama.video_plain) },
    keywords: (content.keywordsByDrama.get(drama.id) ?? []).map((keyword) => ({
      id: keyword.id,
      position: keyword.position,
      word: keyword.word,
      phonetic: keyword.phonetic,
      translationZh: keyword.translation_zh,
      example: { en: keyword.example_en, zh: keyword.example_zh },
      audio: media(keyword.audio_path),
      clips: clipsView(content, keyword.id, media),
    })),
  };
}
