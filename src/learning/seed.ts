/**
 * `smartalk seed`: write the content catalog to the database. Idempotent: rows are
 * upserted by their stable ids, so re-seeding after a content edit updates in place
 * and never touches learners' progress.
 */
import type { Insertable } from 'kysely';
import type { Db } from '../db/database.js';
import type { DramasTable, InterestsTable, KeywordsTable, VtprClipsTable } from '../db/schema.js';
import { CATALOG, type CatalogInterest, DRAMA_SECONDS, dramaId, keywordId, OPTIONS_PER_KEYWORD } from './catalog.js';
import { mediaPath } from './media.js';

export interface CatalogRows {
  interests: Insertable<InterestsTable>[];
  dramas: Insertable<DramasTable>[];
  keywords: Insertable<KeywordsTable>[];
  clips: Insertable<VtprClipsTable>[];
}

/**
 * vTPR options for keyword k of n: its own clip and the clips of three other
 * keywords of the same drama as distractors, the correct one at a position that
 * varies with k so it is not always first.
 */
export function vtprOptions(drama: string, position: number, keywordCount: number): Insertable<VtprClipsTable>[] {
  const own = keywordId(drama, position);
  const correctAt = (position - 1) % OPTIONS_PER_KEYWORD;
  const distractors = [4, 8, 12].map((offset) => keywordId(drama, ((position - 1 + offset) % keywordCount) + 1));
  const options: Insertable<VtprClipsTable>[] = [];
  for (let slot = 0, d = 0; slot < OPTIONS_PER_KEYWORD; slot++) {
    const correct = slot === correctAt;
    const source = correct ? own : (distractors[d++] as string);
    options.push({
      id: `${own}-c${slot + 1}`,
      keyword_id: own,
      position: slot + 1,
      video_path: mediaPath.keywordClip(source),
      is_correct: correct,
    });
  }
  return options;
}

export function catalogRows(catalog: CatalogInterest[] = CATALOG): CatalogRows {
  const rows: CatalogRows = { interests: [], dramas: [], keywords: [], clips: [] };
  catalog.forEach((interest, i) => {
    rows.interests.push({
      id: interest.id,
      sort_order: i + 1,
      name_en: interest.nameEn,
      name_zh: interest.nameZh,
      badge_en: interest.badgeEn,
      badge_zh: interest.badgeZh,
      description_en: interest.descriptionEn,
      description_zh: interest.descriptionZh,
    });
    interest.dramas.forEach((drama, d) => {
      const id = dramaId(interest.id, d + 1);
      rows.dramas.push({
        id,
        interest_id: interest.id,
        chapter: d + 1,
        title_en: drama.titleEn,
        title_zh: drama.titleZh,
        synopsis_en: drama.synopsisEn,
        synopsis_zh: drama.synopsisZh,
        duration_seconds: DRAMA_SECONDS,
        video_subtitled: mediaPath.dramaSubtitled(id),
        video_plain: mediaPath.dramaPlain(id),
      });
      drama.keywords.forEach(([word, phonetic, translation, exampleEn, exampleZh], k) => {
        const kw = keywordId(id, k + 1);
        rows.keywords.push({
          id: kw,
          drama_id: id,
          position: k + 1,
          word,
          phonetic,
          translation_zh: translation,
          example_en: exampleEn,
          example_zh: exampleZh,
          audio_path: mediaPath.keywordAudio(kw),
        });
        rows.clips.push(...vtprOptions(id, k + 1, drama.keywords.length));
      });
    });
  });
  return rows;
}

export interface SeedResult {
  interests: number;
  dramas: number;
  keywords: number;
  clips: number;
}

/** Upsert the whole catalog in one transaction. */
export async function seedContent(db: Db, catalog: CatalogInterest[] = CATALOG): Promise<SeedResult> {
  const rows = catalogRows(catalog);
  await db.kysely.transaction().execute(async (trx) => {
    await trx
      .insertInto('interests')
      .values(rows.interests)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          sort_order: eb.ref('excluded.sort_order'),
          name_en: eb.ref('excluded.name_en'),
          name_zh: eb.ref('excluded.name_zh'),
          badge_en: eb.ref('excluded.badge_en'),
          badge_zh: eb.ref('excluded.badge_zh'),
          description_en: eb.ref('excluded.description_en'),
          description_zh: eb.ref('excluded.description_zh'),
        })),
      )
      .execute();
    await trx
      .insertInto('dramas')
      .values(rows.dramas)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          title_en: eb.ref('excluded.title_en'),
          title_zh: eb.ref('excluded.title_zh'),
          synopsis_en: eb.ref('excluded.synopsis_en'),
          synopsis_zh: eb.ref('excluded.synopsis_zh'),
          duration_seconds: eb.ref('excluded.duration_seconds'),
          video_subtitled: eb.ref('excluded.video_subtitled'),
          video_plain: eb.ref('excluded.video_plain'),
        })),
      )
      .execute();
    await trx
      .insertInto('keywords')
      .values(rows.keywords)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          word: eb.ref('excluded.word'),
          phonetic: eb.ref('excluded.phonetic'),
          translation_zh: eb.ref('excluded.translation_zh'),
          example_en: eb.ref('excluded.example_en'),
          example_zh: eb.ref('excluded.example_zh'),
          audio_path: eb.ref('excluded.audio_path'),
        })),
      )
      .execute();
    await trx
      .insertInto('vtpr_clips')
      .values(rows.clips)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          video_path: eb.ref('excluded.video_path'),
          is_correct: eb.ref('excluded.is_correct'),
        })),
      )
      .execute();
  });
  return {
    interests: rows.interests.length,
    dramas: rows.dramas.length,
    keywords: rows.keywords.length,
    clips: rows.clips.length,
  };
}

export async function isSeeded(db: Db): Promise<boolean> {
  const row = await db.kysely
    .selectFrom('interests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return (row?.n ?? 0) > 0;
}
