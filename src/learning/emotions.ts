/**
 * The self-assessment labels the app shows after the magic moment, with the sentiment
 * weight each carries. Learners pick one; the magic moment and feedback both store its
 * id, so they belong to the learning step (feedback reads them from here).
 */
export const EMOTIONS = {
  fully_understood: { emoji: '😍', zh: '完全听懂了！', en: 'Understood it all!', weight: 1.0 },
  easier_than_expected: { emoji: '🤩', zh: '比想象的容易！', en: 'Easier than I thought!', weight: 0.8 },
  got_the_gist: { emoji: '😊', zh: '抓住了主线！', en: 'Got the main story!', weight: 0.6 },
  want_more: { emoji: '🔥', zh: '想学更多！', en: 'I want to learn more!', weight: 0.9 },
  a_bit_hard: { emoji: '😕', zh: '有点困难', en: 'A bit hard', weight: -0.3 },
  did_not_understand: { emoji: '😞', zh: '没听懂', en: 'Did not understand', weight: -0.8 },
  too_hard: { emoji: '😤', zh: '太难了', en: 'Too hard', weight: -1.0 },
} as const;

export type EmotionId = keyof typeof EMOTIONS;
export const EMOTION_IDS = Object.keys(EMOTIONS) as EmotionId[];
