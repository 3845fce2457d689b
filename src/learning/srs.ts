/**
 * Spaced review of collected keywords with FSRS (the Free Spaced Repetition Scheduler,
 * the algorithm Anki ships), from the maintained `ts-fsrs` package. Collecting a keyword
 * is its first review: at the first try Good (due in about 3 days), after errors Hard
 * (2 days), after rescue mode showed the answer Again (1 day: an early review). A review
 * answered right is Good, wrong Again. Short-term learning steps are off: a learner of a
 * story app comes back on another day, not in ten minutes; fuzz is off, so a learner's
 * schedule is the same on every instance and in every test.
 */
import { type Card, createEmptyCard, fsrs, generatorParameters, Rating, type State } from 'ts-fsrs';

const scheduler = fsrs(generatorParameters({ enable_short_term: false, enable_fuzz: false }));

export type ReviewRating = 'again' | 'hard' | 'good';
const RATINGS = { again: Rating.Again, hard: Rating.Hard, good: Rating.Good } as const;
const STATE_NAMES = ['new', 'learning', 'review', 'relearning'] as const;

/** The card as stored (keyword_progress.srs): plain JSON, dates as ISO strings. */
export interface StoredCard {
  due: string;
  stability: number;
  difficulty: number;
  elapsed_days: number;
  scheduled_days: number;
  reps: number;
  lapses: number;
  learning_steps: number;
  state: State;
  last_review: string | null;
}

const store = (card: Card): StoredCard => ({
  due: card.due.toISOString(),
  stability: card.stability,
  difficulty: card.difficulty,
  elapsed_days: card.elapsed_days,
  scheduled_days: card.scheduled_days,
  reps: card.reps,
  lapses: card.lapses,
  learning_steps: card.learning_steps,
  state: card.state,
  last_review: card.last_review ? card.last_review.toISOString() : null,
});

const load = (stored: StoredCard): Card => ({
  ...stored,
  due: new Date(stored.due),
  last_review: stored.last_review ? new Date(stored.last_review) : undefined,
});

/** The first review, when the keyword is collected at `at`. */
export function firstReview(at: Date, rating: ReviewRating): StoredCard {
  return store(scheduler.next(createEmptyCard(at), at, RATINGS[rating]).card);
}

/** A review at `at` of a stored card (a card stored before reviews existed starts new). */
export function review(stored: StoredCard | null, at: Date, rating: ReviewRating): StoredCard {
  return store(scheduler.next(stored ? load(stored) : createEmptyCard(at), at, RATINGS[rating]).card);
}

/** The card for people and clients. */
export function cardView(stored: StoredCard) {
  return {
    state: STATE_NAMES[stored.state] ?? 'review',
    stability: Math.round(stored.stability * 100) / 100,
    difficulty: Math.round(stored.difficulty * 100) / 100,
    reps: stored.reps,
    lapses: stored.lapses,
    scheduledDays: stored.scheduled_days,
  };
}
