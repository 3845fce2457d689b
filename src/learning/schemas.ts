/**
 * Request and response schemas of the learning API. They validate input, shape
 * output (fast-json-stringify drops anything not listed) and document the API.
 */
import { type TSchema, Type } from '@fastify/type-provider-typebox';
import { DateTime, Id, Line, Uuid } from '../validation.js';
import { EMOTION_IDS } from './emotions.js';

export { ErrorResponse } from '../errors.js';
export { Id, Uuid };
export const Bilingual = Type.Object({ en: Type.String(), zh: Type.String() });
/** Dates leave the services as Date objects; fast-json-stringify writes them as ISO 8601. */
const Timestamp = Type.Unsafe<Date | string>(Type.String({ format: 'date-time' }));
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const LearningMode = Type.Union([Type.Literal('normal'), Type.Literal('focus'), Type.Literal('rescue')], {
  description: 'normal; focus after 2 errors in a row on a clue; rescue after 4',
});
export const Emotion = Type.Union(
  EMOTION_IDS.map((id) => Type.Literal(id)),
  { description: 'Self-assessment label after the magic moment' },
);

export const CreateUserBody = Type.Object(
  {
    deviceId: Type.String({
      minLength: 8,
      maxLength: 128,
      pattern: '^[A-Za-z0-9._:-]+$',
      description: 'Stable id of the device',
    }),
    platform: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9._-]+$' })),
    appVersion: Type.Optional(Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9._+-]+$' })),
    deviceSecret: Type.Optional(
      Type.String({
        minLength: 8,
        maxLength: 128,
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'The secret issued with the learner; needed to resume a known device without a live token',
      }),
    ),
  },
  { additionalProperties: false },
);

export const CreatedUser = Type.Object({
  userId: Uuid,
  token: Type.String({ description: 'Bearer token for this learner; shown once' }),
  deviceSecret: Type.Optional(
    Type.String({ description: 'Keep it with the device (keychain): it resumes this learner. Shown once, when issued' }),
  ),
  created: Type.Boolean({ description: 'false when an existing device was resumed' }),
  createdAt: Timestamp,
});

export const UserParams = Type.Object({ userId: Uuid });

export const UserProfile = Type.Object({
  id: Uuid,
  createdAt: Timestamp,
  platform: Type.Union([Type.String(), Type.Null()]),
  appVersion: Type.Union([Type.String(), Type.Null()]),
  interests: Type.Array(Type.Object({ id: Type.String(), selectedAt: Timestamp })),
});

export const SelectInterestBody = Type.Object(
  {
    interestId: Id('Interest theme id'),
    occurredAt: Type.Optional(DateTime('When it was chosen (offline clients); default now')),
  },
  { additionalProperties: false },
);

export const Interest = Type.Object({
  id: Type.String(),
  name: Bilingual,
  badge: Bilingual,
  description: Bilingual,
  chapters: Type.Integer(),
});

export const InterestParams = Type.Object({ interestId: Id('Interest theme id, e.g. travel') });
export const DramaParams = Type.Object({ dramaId: Id('Drama id, e.g. travel-01') });
export const KeywordParams = Type.Object({ keywordId: Id('Keyword id, e.g. travel-01-k01') });

export const DramaSummary = Type.Object({
  id: Type.String(),
  interestId: Type.String(),
  chapter: Type.Integer(),
  title: Bilingual,
  synopsis: Bilingual,
  durationSeconds: Type.Integer(),
  keywordCount: Type.Integer(),
  locked: Type.Boolean({ description: 'For the caller (a new learner when anonymous)' }),
  requires: Type.Union([Type.String(), Type.Null()], { description: 'Drama whose magic moment unlocks this one' }),
});

const OrNull = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const Media = Type.Object(
  {
    url: Type.String({
      description: 'Absolute: the CDN (MEDIA_BASE_URL) or this server',
      examples: ['https://cdn.example.com/videos/m/Yx3kq0L2vVb9TnQeR1a8Zw.mp4'],
    }),
    status: Type.Union([Type.Literal('ready'), Type.Literal('pending')], {
      description: 'pending: still being rendered or uploaded — show a placeholder and fetch the drama again later',
    }),
    durationSeconds: OrNull(
      Type.Number({ description: 'ffprobe’s duration; null while pending or not yet probed', examples: [4] }),
    ),
    bytes: OrNull(Type.Integer({ description: 'File size; null while pending', examples: [48213] })),
    bitrateKbps: OrNull(
      Type.Integer({ description: 'ffprobe’s overall bitrate; null while pending or not yet probed', examples: [96] }),
    ),
  },
  { description: 'One rendition of a video or audio file' },
);

export const Clip = Type.Object({
  id: Type.String({ description: 'Opaque; POST it as selectedClipId', examples: ['clip_Yx3kq0L2vVb9TnQe'] }),
  position: Type.Integer({ description: 'Where to show it (1–4): the same for every learner and every retry' }),
  video: Media,
});

export const Keyword = Type.Object({
  id: Type.String(),
  position: Type.Integer(),
  word: Type.String(),
  phonetic: Type.String(),
  translationZh: Type.String(),
  example: Bilingual,
  audio: Media,
  clips: Type.Array(Clip, { description: 'vTPR options; exactly one shows the meaning' }),
});

export const DramaDetail = Type.Object({
  id: Type.String(),
  interestId: Type.String(),
  chapter: Type.Integer(),
  title: Bilingual,
  synopsis: Bilingual,
  durationSeconds: Type.Integer(),
  videos: Type.Object(
    {
      subtitled: Media,
      plain: Media,
    },
    { description: 'subtitled: the teaser, with subtitles; plain: without subtitles, the magic moment in theater mode' },
  ),
  keywords: Type.Array(Keyword),
});

const OccurredAt = (what: string) =>
  Type.Optional(
    DateTime(
      `When ${what} happened, for a client that syncs later (offline): at most 90 days ago; default now. ` +
        'Its analytics events carry this time.',
    ),
  );

export const AttemptBody = Type.Object(
  {
    selectedClipId: Type.Optional(
      Line(80, { description: 'The clip the learner picked; the server grades it. Required outside rescue mode.' }),
    ),
    correct: Type.Optional(
      Type.Boolean({
        description:
          'Client-graded result, taken in rescue mode only (the answer has been shown; e.g. pronunciation graded on the device)',
      }),
    ),
    mode: Type.Optional(
      Type.Union([Type.Literal('normal'), Type.Literal('focus'), Type.Literal('rescue')], {
        description: 'The mode the client shows. The server derives it from the run of errors and refuses another (409)',
      }),
    ),
    responseMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'Time to answer' })),
    occurredAt: OccurredAt('the answer'),
  },
  { additionalProperties: false, examples: [{ selectedClipId: 'travel-01-k01-c2' }] },
);

export const AttemptResult = Type.Object({
  keywordId: Type.String(),
  dramaId: Type.String(),
  correct: Type.Boolean(),
  graded: Type.Union([Type.Literal('server'), Type.Literal('client')], {
    description: 'server: by selectedClipId; client: the correct flag (rescue mode)',
  }),
  mode: LearningMode,
  collected: Type.Boolean(),
  newlyCollected: Type.Boolean(),
  attempts: Type.Integer(),
  consecutiveErrors: Type.Integer(),
  suggestedMode: LearningMode,
  nextReviewAt: NullableTimestamp,
  drama: Type.Object({ collected: Type.Integer(), total: Type.Integer(), allCollected: Type.Boolean() }),
  focus: Type.Union(
    [
      Type.Object({
        clipIds: Type.Array(Type.String(), { description: 'Offer only these: the right clip and one other' }),
        playbackRate: Type.Number({ description: 'Play the clips slower' }),
      }),
      Type.Null(),
    ],
    { description: 'In focus mode (2 errors in a row): fewer choices, slower clips' },
  ),
  rescue: Type.Union(
    [
      Type.Object({
        clipId: Type.String({ description: 'The right clip' }),
        word: Type.String(),
        phonetic: Type.String(),
        translationZh: Type.String({ description: 'What the word means' }),
        example: Bilingual,
      }),
      Type.Null(),
    ],
    { description: 'In rescue mode (4 errors in a row): the answer and why; the clue is reviewed early once collected' },
  ),
});

export const MagicMomentBody = Type.Object(
  { understanding: Type.Optional(Emotion), occurredAt: OccurredAt('the magic moment') },
  { additionalProperties: false },
);

export const MagicMomentResult = Type.Object({
  dramaId: Type.String(),
  completedAt: Timestamp,
  firstCompletion: Type.Boolean(),
  activated: Type.Boolean({ description: "True on the learner's first magic moment: activation" }),
  unlockedDramaId: Type.Union([Type.String(), Type.Null()]),
  badgeEarned: Type.Union([Type.String(), Type.Null()]),
});

export const ProgressReport = Type.Object({
  userId: Uuid,
  keywordsCollected: Type.Integer(),
  dramasCompleted: Type.Integer(),
  reviewsDue: Type.Integer(),
  interests: Type.Array(
    Type.Object({
      id: Type.String(),
      selected: Type.Boolean(),
      badgeEarned: Type.Boolean(),
      dramas: Type.Array(
        Type.Object({
          id: Type.String(),
          chapter: Type.Integer(),
          locked: Type.Boolean(),
          collected: Type.Integer(),
          total: Type.Integer(),
          cluesCompletedAt: NullableTimestamp,
          magicMomentCompletedAt: NullableTimestamp,
        }),
      ),
    }),
  ),
});

export const ReviewsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Reviews per page' })),
    cursor: Type.Optional(Type.String({ maxLength: 200, description: 'nextCursor of the page before' })),
  },
  { additionalProperties: false },
);

const Card = Type.Object(
  {
    state: Type.String({ description: 'new, learning, review or relearning (FSRS)' }),
    stability: Type.Number({ description: 'Days until recall falls to 90%' }),
    difficulty: Type.Number(),
    reps: Type.Integer(),
    lapses: Type.Integer(),
    scheduledDays: Type.Integer(),
  },
  { description: "The keyword's FSRS card" },
);

export const DueReviews = Type.Object({
  reviews: Type.Array(
    Type.Object({
      keywordId: Type.String(),
      dramaId: Type.Union([Type.String(), Type.Null()]),
      word: Type.String(),
      phonetic: Type.String(),
      audio: Type.Union([Media, Type.Null()]),
      dueAt: Timestamp,
      reviews: Type.Integer({ description: 'Reviews done so far' }),
      card: Type.Union([Card, Type.Null()]),
      clips: Type.Array(Clip, { description: 'Pick the one that shows the word: POST it as selectedClipId' }),
    }),
  ),
  nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last' }),
});

export const ReviewParams = Type.Object({ userId: Uuid, keywordId: Id('Keyword id, e.g. travel-01-k01') });

export const ReviewBody = Type.Object(
  {
    selectedClipId: Line(80, { description: 'The clip the learner picked; the server grades it' }),
    responseMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    occurredAt: OccurredAt('the review'),
  },
  { additionalProperties: false, examples: [{ selectedClipId: 'travel-01-k01-c2' }] },
);

export const ReviewResult = Type.Object({
  keywordId: Type.String(),
  correct: Type.Boolean(),
  rating: Type.Union([Type.Literal('good'), Type.Literal('again')], { description: 'FSRS rating: right is good, wrong again' }),
  reviews: Type.Integer(),
  nextReviewAt: Timestamp,
  card: Card,
});

export const DramasQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, description: 'Chapters per page (default: all, at most 50)' })),
    cursor: Type.Optional(Type.String({ maxLength: 100, description: 'nextCursor of the page before' })),
  },
  { additionalProperties: false },
);

/** Routes without query parameters: one sent anyway is a 400, not silently ignored. */
export const NoQuery = Type.Object({}, { additionalProperties: false });
