/** The sentiment analyzer: negation, degree, contrast, mixed language, emoji, themes, urgency, and its measured accuracy. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  LabelValueError,
  labeledAgreement,
  ReviewColumnsError,
  ratingAgreement,
  readLabeledTexts,
  readRatedReviews,
} from '../src/feedback/agreement.js';
import { evaluate, labelAgreement, readBatches, readLabeledSet, splitOf } from '../src/feedback/evaluate.js';
import { labelingSheetCsv } from '../src/feedback/labeling.js';
import { featureHash, featureNames, forEachFeature, LearnedModel } from '../src/feedback/learned.js';
import { Segmenter } from '../src/feedback/segmenter.js';
import { MODEL_URL, SentimentAnalyzer, type SentimentLabel, sentimentAnalyzer } from '../src/feedback/sentiment.js';
import { crossValidateSheet, leaveOneBatchOut, trainingItems, trainModel } from '../src/feedback/train.js';

const analyzer = sentimentAnalyzer();
const score = (text: string) => analyzer.scoreText(text).score;
const label = (text: string) => analyzer.scoreItem({ text }).label;

describe('segmentation', () => {
  it('keeps scored words whole and does not read them inside longer words', () => {
    expect(analyzer.tokens('闪退了，很不错')).toEqual(['闪退', '了', '，', '很', '不错']);
    // 好 inside 好像 and 不好 inside 不好意思 are not praise or blame.
    expect(analyzer.tokens('好像不好意思')).toEqual(['好像', '不好意思']);
    expect(score('好像')).toBe(0);
    expect(analyzer.tokens("app 又 crash 了😡!! can't")).toEqual(['app', '又', 'crash', '了', '😡', '!', '!', 'can', 'not']);
  });

  it('takes the most probable path through the dictionary, as jieba does', () => {
    const segmenter = new Segmenter([
      ['研究', 5000],
      ['研究生', 200],
      ['生命', 3000],
      ['起源', 1000],
    ]);
    expect(segmenter.cut('研究生命起源')).toEqual(['研究', '生命', '起源']);
    expect(segmenter.cut('研究生')).toEqual(['研究生']);
  });

  it('loses nothing but spaces, whatever the text (a line break is a token: it ends a clause)', () => {
    const segmenter = new Segmenter([
      ['不好', 10],
      ['好像', 10],
      ['a', 1],
    ]);
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'不好像的 a1-!😀\n\u3000'.split(/(?:)/u)) }), (text) => {
        expect(segmenter.cut(text).join('')).toBe(text.replace(/[^\S\n]/g, ''));
      }),
    );
  });
});

describe('Chinese', () => {
  it('negation flips: 好用 is positive, 不好用 / 一点都不好 are negative, 没有问题 is positive', () => {
    expect(score('好用')).toBeGreaterThan(0.3);
    expect(score('不好用')).toBeLessThan(-0.3);
    expect(score('一点都不好')).toBeLessThan(-0.3);
    expect(score('没有问题')).toBeGreaterThan(0);
    expect(score('体验不好')).toBeLessThan(0);
  });

  it('degree adverbs scale: 非常好 > 很好 > 好 > 有点好', () => {
    expect(score('非常好')).toBeGreaterThan(score('很好'));
    expect(score('很好')).toBeGreaterThanOrEqual(score('好'));
    expect(score('好')).toBeGreaterThan(score('有点好'));
    expect(score('太差了')).toBeLessThan(score('差'));
  });

  it('contrast: the clause after 但是/不过 decides', () => {
    expect(score('故事很好看，但是加载太慢了')).toBeLessThan(0);
    expect(score('虽然有点难，但是很有收获')).toBeGreaterThan(0);
    expect(score('加载有点慢，不过内容很精彩')).toBeGreaterThan(0);
  });

  it('excess and questions: 太快 is a complaint, a question is mostly neutral', () => {
    expect(label('语速太快了')).toBe('negative');
    expect(label('可以加一个夜间模式吗')).toBe('neutral');
  });
});

describe('English', () => {
  it('negation, degree and contrast', () => {
    expect(score('good')).toBeGreaterThan(0.3);
    expect(score('not good')).toBeLessThan(-0.3);
    expect(score('not bad at all')).toBeGreaterThan(0.3);
    expect(score('very good')).toBeGreaterThan(score('good'));
    expect(score("I can't stand it")).toBeLessThan(score('I can stand it') + 1e-9);
    expect(score('Great stories but the videos are laggy')).toBeLessThan(0);
    expect(score('The subtitles are out of sync')).toBeLessThan(0);
  });
});

describe('phrase patterns (docs/sentiment.md)', () => {
  it('read failure as a habit, inability, value, enthusiasm and comparisons without a sentiment word', () => {
    expect(label('打开以后总是要转圈很久')).toBe('negative');
    expect(label('课程列表刷不出来')).toBe('negative');
    expect(label('it never syncs between my devices')).toBe('negative');
    expect(label('the video keeps buffering on wifi')).toBe('negative');
    expect(label('年费不值这个价')).toBe('negative');
    expect(label('total rip-off')).toBe('negative');
    expect(label('一追剧就停不下来')).toBe('positive');
    expect(label('比学校的课有意思多了')).toBe('positive');
    expect(label('还不如背单词书')).toBe('negative');
  });

  it('leave requests and usage statements neutral, and weigh a phrase in its clause', () => {
    expect(label('would love to see more movie dramas')).toBe('neutral');
    expect(label('希望能增加更多电影主题')).toBe('neutral');
    expect(label('我一般在午休的时候学')).toBe('neutral');
    // The phrase is one word of its clause: the contrast still decides.
    expect(label('虽然偶尔要转圈很久，但是内容真的很棒')).toBe('positive');
    expect(label('Great stories, but it keeps crashing on my phone')).toBe('negative');
  });

  it('reads a calm report under a problem theme as a complaint, but not a mention of the topic', () => {
    expect(label('字幕总比声音晚半拍')).toBe('negative');
    expect(label('the audio is a bit off on my tablet')).toBe('negative');
    expect(label('支付以后会员状态没变')).toBe('negative');
    expect(label('有中英文两种字幕')).toBe('neutral');
    expect(label('planning to renew the membership in spring')).toBe('neutral');
    expect(label('字幕能不能调大一点')).toBe('neutral');
  });
});

describe('rules of session 14 (the rules alone, without the learned layer)', () => {
  const rules = new SentimentAnalyzer({ model: null });
  const rulesLabel = (text: string) => rules.scoreItem({ text }).label;

  it('reads 太…了 before a word it does not score as an exclamation, and English "too" before praise as excess', () => {
    expect(rulesLabel('这个方法太聪明了')).toBe('positive');
    expect(rules.scoreText('太快了').score).toBe(0);
    expect(rulesLabel('语速太快')).toBe('negative');
    expect(rulesLabel('way too advanced for me')).toBe('negative');
    expect(rulesLabel('too good to be true')).toBe('positive');
  });

  it('ends a negator at 就 / and, so the failure after it is not flipped', () => {
    expect(rulesLabel('一节课都上不完就闪退')).toBe('negative');
    expect(rulesLabel('it does not start and crashes')).toBe('negative');
    expect(rulesLabel('不闪退')).toBe('positive');
    // "less" is a weaker negation: less scary leans to praise, less fun to blame.
    expect(rules.scoreText('makes English less scary').score).toBeGreaterThan(0);
    expect(rules.scoreText('less fun than before').score).toBeLessThan(0);
  });

  it('reads a praise that is no more, a claim against its reality, and a broken streak as complaints', () => {
    expect(rulesLabel('以前是我最喜欢的app，现在不是了')).toBe('negative');
    expect(rulesLabel('It used to be my favorite app, not anymore')).toBe('negative');
    expect(rulesLabel('说是沉浸式学习，其实就是看视频')).toBe('negative');
    expect(rulesLabel('they call it immersive, it is really just videos')).toBe('negative');
    expect(rulesLabel('连续打卡又断了')).toBe('negative');
    // "no longer" negates what it governs: no longer crashing is praise.
    expect(rulesLabel('it no longer crashes')).toBe('positive');
    expect(rulesLabel('I used to dread listening, now I follow meetings')).toBe('positive');
  });

  it('reads an A-not-A question and a verb + 好 complement as no verdict, and 不再 / zero as negators', () => {
    expect(rules.scoreText('不知道这个适不适合').score).toBe(0);
    expect(rules.scoreText('学没学会').score).toBe(0);
    expect(rules.scoreText('下载好的视频').score).toBe(0);
    expect(rulesLabel('通勤时间终于不再浪费了')).toBe('positive');
    expect(rulesLabel('zero regrets')).toBe('positive');
    expect(rulesLabel('the lag is gone')).toBe('positive');
    expect(rulesLabel('my progress is gone')).toBe('negative');
  });

  it('leaves first impressions, past worries and recommendations by others to the rest of the text', () => {
    expect(rulesLabel('recommended by a friend at work')).toBe('neutral');
    expect(rulesLabel('同事推荐的')).toBe('neutral');
    expect(rulesLabel('I was worried it would be too hard, but it is doable')).toBe('positive');
    expect(rulesLabel('刚开始挺期待，一周后什么都解锁不了')).toBe('negative');
    expect(rulesLabel('加个口语陪练功能应该不错')).toBe('neutral');
  });
});

describe('rules of session 15, from store reviews written by others (the rules alone)', () => {
  const rules = new SentimentAnalyzer({ model: null });
  const rulesLabel = (text: string) => rules.scoreItem({ text }).label;

  it('reads "too" before praise as degree, but before a word that measures as excess', () => {
    expect(rulesLabel('this app is too useful')).toBe('positive');
    expect(rulesLabel('too good to be true')).toBe('positive');
    expect(rulesLabel('way too advanced for me')).toBe('negative');
    expect(rulesLabel('the lessons are too easy')).toBe('negative');
  });

  it('reads a slip of one doubled letter as the word meant', () => {
    expect(rules.scoreText('its very helpfull').hits).toEqual([{ token: 'helpfull', value: 3 }]);
    expect(rulesLabel('so anoying')).toBe('negative');
    expect(rulesLabel('gooood app')).toBe('positive');
    expect(rules.scoreText('the lesson on travel').score).toBe(0);
  });

  it('reads progress the learner credits to the app, and leaving or decline, without a sentiment word', () => {
    expect(rulesLabel('I can now order food in English')).toBe('positive');
    expect(rulesLabel('memorized 200 words in two weeks')).toBe('positive');
    expect(rulesLabel('learned nothing in two months')).toBe('negative');
    expect(rulesLabel('will never use again')).toBe('negative');
    expect(rulesLabel('you can no longer practice offline')).toBe('negative');
    expect(rulesLabel('the leaderboard does not always update')).toBe('negative');
  });

  it('lets praise stand beside a complaint called the only one, and reads praise named as the exception as none', () => {
    expect(rulesLabel('great stories, the only downside is the price')).toBe('positive');
    expect(rulesLabel('课程很好，唯一的缺点是有点贵')).toBe('positive');
    expect(rulesLabel('说实话，除了界面不错，课程真的不好')).toBe('negative');
    expect(rulesLabel('没有宣传的那么好用')).toBe('negative');
    expect(rulesLabel('再方便不过了')).toBe('positive');
    expect(rulesLabel('卡得不能再卡了')).toBe('negative');
  });

  it('reads 比较 as "rather", not a comparison, and lets a negator reach past 的 inside its phrase', () => {
    // Before: 比较烦。饭菜也不好 matched "比 … 好" across the full stop and read as praise.
    expect(rulesLabel('晚上电话比较烦。饭菜质量也不好')).toBe('negative');
    expect(rulesLabel('比以前好用多了')).toBe('positive');
    expect(rulesLabel('感觉不到家的温馨')).toBe('negative');
    expect(rulesLabel('课本上没有的地道表达')).toBe('positive');
  });

  it('reads expectation against reality, a decline, and 好 inside 好找 / 好笑 as no praise', () => {
    expect(rulesLabel('以为很有意思，实际真的好腻')).toBe('negative');
    expect(rulesLabel('感觉没有上个版本好用了')).toBe('negative');
    expect(rules.scoreText('入口挺好找，故事很好笑').hits).toEqual([]);
    expect(rules.scoreText('口味也还可以').score).toBeGreaterThan(0);
    expect(rules.scoreText('还可以下载视频').score).toBe(0);
  });
});

describe('agreement with the stars of a store export (smartalk feedback agreement)', () => {
  const analyzer = new SentimentAnalyzer({ model: null });
  const csv = [
    'userName,content,score',
    'a,"Love it, the stories are great",5',
    'b,"keeps crashing,\nevery time I open a drama",1',
    'c,great app,2',
    'd,the audio cuts out,4',
    'e,I use it on the train,3',
    'f,,5',
    'g,no stars here,',
  ].join('\n');

  it('reads a CSV export by its column names and skips rows without text or stars', () => {
    const { reviews, skipped } = readRatedReviews(csv);
    expect(reviews.map((review) => review.rating)).toEqual([5, 1, 2, 4, 3]);
    expect(reviews[1]?.text).toBe('keeps crashing,\nevery time I open a drama');
    expect(skipped).toBe(2);
    const jsonLines = '{"review":"很好用","stars":5}\n{"review":"一直闪退","stars":1}\n';
    expect(readRatedReviews(jsonLines).reviews).toEqual([
      { text: '很好用', rating: 5 },
      { text: '一直闪退', rating: 1 },
    ]);
    // A byte-order mark, as spreadsheet programs and Windows tools write it, in either shape.
    expect(readRatedReviews(`\ufeff${jsonLines}`).reviews).toHaveLength(2);
    expect(readRatedReviews('\ufeffcontent,score\nok,4\n').reviews).toEqual([{ text: 'ok', rating: 4 }]);
    expect(() => readRatedReviews('a,b\n1,2\n')).toThrow(ReviewColumnsError);
    expect(readRatedReviews('a,b\nfine,4\n', { text: 'a', rating: 'b' }).reviews).toEqual([{ text: 'fine', rating: 4 }]);
  });

  it('counts how the texts were read per star, and agreement on the reviews that take a side', () => {
    const result = ratingAgreement(analyzer, readRatedReviews(csv).reviews);
    expect(result.reviews).toBe(5);
    expect(result.byRating[5]).toEqual({ reviews: 1, positive: 1, neutral: 0, negative: 0 });
    expect(result.byRating[3]).toEqual({ reviews: 1, positive: 0, neutral: 1, negative: 0 });
    // Two of the four 1–2 and 4–5 star reviews agree: the 2-star praise and the 4-star complaint do not.
    expect(result.polar).toEqual({ reviews: 4, agreeing: 2, agreement: 0.5 });
    expect(result.negative).toEqual({ precision: 0.5, recall: 0.5 });
    expect(result.positive).toEqual({ precision: 0.5, recall: 0.5 });
  });
});

describe('agreement with people who labeled the texts (smartalk feedback sample, then agreement)', () => {
  const analyzer = new SentimentAnalyzer({ model: null });

  it("computes Cohen's kappa as the textbook does", () => {
    // 50 items: both "yes" 20, A yes B no 5, A no B yes 10, both "no" 15 → po 0.7, pe 0.5, κ 0.4.
    const pairs = [
      ...Array(20).fill(['positive', 'positive']),
      ...Array(5).fill(['positive', 'negative']),
      ...Array(10).fill(['negative', 'positive']),
      ...Array(15).fill(['negative', 'negative']),
    ] as Array<[SentimentLabel, SentimentLabel]>;
    const figures = labelAgreement(pairs);
    expect(figures.accuracy).toBeCloseTo(0.7, 12);
    expect(figures.kappa).toBeCloseTo(0.4, 12);
    expect(figures.confusion.negative.positive).toBe(10);
    expect(figures.perLabel.negative).toMatchObject({ precision: 15 / 20, recall: 15 / 25, support: 25 });
    // One label only: chance agrees on everything, so kappa says nothing.
    expect(labelAgreement([['neutral', 'neutral']]).kappa).toBeNull();
  });

  it('round-trips a blind sheet: formulas guarded, line breaks kept, labels read in either language', () => {
    const texts = ['=HYPERLINK("http://x")', 'keeps crashing,\r\nevery time', '字幕一直对不上\u2028真烦', 'Love the stories'];
    const csv = labelingSheetCsv(texts.map((text, i) => ({ id: `id-${i}`, language: 'en', text })));
    expect(csv.startsWith('\ufeffid,language,text,label\r\n')).toBe(true);
    expect(csv).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(csv).not.toMatch(/(^|,)=/m);
    // A labeler fills the last column (one row left blank) and a second labeler adds a column.
    const labels = [
      ['负面', 'negative'],
      ['-', '−'],
      ['', '负面'],
      ['+', '0'],
    ];
    const filled = csv
      .replace('label\r\n', 'label,label 2\r\n')
      .split(/,\r\n(?=id-|$)/)
      .map((row, i) => (i < labels.length ? `${row},${labels[i]?.join(',')}` : row))
      .join('\r\n');
    const sheet = readLabeledTexts(filled);
    expect(sheet?.labelers).toEqual(['label', 'label 2']);
    expect(sheet?.texts.map((item) => item.text)).toEqual(texts);
    expect(sheet?.texts.map((item) => item.labels)).toEqual([
      ['negative', 'negative'],
      ['negative', 'negative'],
      [undefined, 'negative'],
      ['positive', 'neutral'],
    ]);
    expect(() => readLabeledTexts('text,label\nfine,maybe\n')).toThrow(LabelValueError);
    expect(() => readLabeledTexts('text,label\nfine,maybe\n')).toThrow(/row 2, column "label"/);
    expect(readLabeledTexts('content,score\nfine,4\n')).toBeNull();
    expect(readLabeledTexts('content,标注\n很好用,正面\n,负面\n还没标,\n')).toEqual({
      texts: [{ text: '很好用', labels: ['positive'] }],
      labelers: ['标注'],
      unlabeled: 1,
    });
  });

  it('holds the analyzer to the labels people share, and the labelers to each other', () => {
    const sheet = {
      labelers: ['anna', 'li'],
      texts: [
        { text: 'keeps crashing every time I open a drama', labels: ['negative', 'negative'] },
        { text: '故事很有意思，每天都想学', labels: ['positive', 'positive'] },
        { text: 'I use it on the subway', labels: ['neutral', 'positive'] },
        { text: 'Love it, the stories are great', labels: ['negative', undefined] },
      ] as Array<{ text: string; labels: Array<SentimentLabel | undefined> }>,
    };
    const result = labeledAgreement(analyzer, sheet);
    expect(result.texts).toBe(4);
    // The subway line is contested (neutral against positive): no reference for the analyzer.
    expect(result.contested).toBe(1);
    expect(result.analyzer.items).toBe(3);
    // The praise anna labeled negative is the analyzer's one miss against the shared labels.
    expect(result.analyzer.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.analyzer.confusion.negative.positive).toBe(1);
    expect(result.analyzer.byLanguage.map((row) => [row.language, row.items, row.accuracy])).toEqual([
      ['en', 2, 0.5],
      ['zh', 1, 1],
    ]);
    expect(result.labelerPairs).toHaveLength(1);
    expect(result.labelerPairs[0]).toMatchObject({ labelers: ['anna', 'li'], items: 3, accuracy: 2 / 3 });
    expect(result.analyzerByLabeler.map((one) => [one.labeler, one.items])).toEqual([
      ['anna', 4],
      ['li', 3],
    ]);
    // li called the subway line praise; the analyzer, like anna, reads a usage statement (rule 8).
    expect(result.analyzerByLabeler[1]?.accuracy).toBeCloseTo(2 / 3, 12);
    expect(result.analyzerByLabeler[1]?.confusion.positive.neutral).toBe(1);
  });
});

describe('what learning a sheet would buy (agreement --cross-validate)', () => {
  it('reads each fold by a layer retrained with the others: a word the sheet teaches carries to lines it did not see', () => {
    // "quibbleflux" stands for an app word no lexicon knows, which the labelers call a complaint.
    const places = [
      'on the travel drama',
      'on my tablet',
      'twice today',
      'in the office story',
      'after the update',
      'on the subway',
      'in review mode',
      'with headphones on',
    ];
    const texts = places.flatMap((place) => [
      { text: `quibbleflux ${place}`, labels: ['negative' as const] },
      { text: `more quibbleflux ${place} tonight`, labels: ['negative' as const] },
    ]);
    const shipped = new SentimentAnalyzer();
    expect(texts.filter(({ text }) => shipped.scoreItem({ text }).label === 'negative').length).toBeLessThan(texts.length / 2);
    const result = labeledAgreement(
      shipped,
      { texts, labelers: ['label'] },
      { retrain: (lines) => crossValidateSheet(lines, { folds: 2 }) },
    );
    expect(result.retrained?.items).toBe(texts.length);
    expect(result.retrained?.perLabel.negative.recall).toBeGreaterThan(result.analyzer.perLabel.negative.recall);
    // 16 lines among the ~2,800 shipped ones move the layer on most of the lines it did not see.
    expect(result.retrained?.accuracy).toBeGreaterThan(0.5);
    expect(result.analyzer.accuracy).toBeLessThan(0.5);
  });
});

describe('mixed language and emoji', () => {
  it('scores Chinese and English in one text', () => {
    const result = analyzer.scoreText('故事很棒 but the app is so slow 😡');
    expect(result.language).toBe('mixed');
    expect(result.score).toBeLessThan(0);
    expect(analyzer.scoreText('内容不错 and the videos are smooth').score).toBeGreaterThan(0.3);
    // A text a phrase pattern replaces whole (还行吧) keeps the language it was written in.
    expect(analyzer.scoreText('还行吧').language).toBe('zh');
    expect(analyzer.scoreItem({ text: '还行吧' }).text?.language).toBe('zh');
    expect(analyzer.scoreText('3D效果好').language).toBe('zh');
    expect(analyzer.scoreText('1080p 👍').language).toBe('none');
  });

  it('counts emoji', () => {
    expect(score('😍')).toBeGreaterThan(0.3);
    expect(score('😡😡😡')).toBeLessThan(-0.6);
    expect(score('还行 😍')).toBeGreaterThan(score('还行'));
  });
});

describe('items', () => {
  it('combine the emotion label, the rating and the text', () => {
    expect(analyzer.scoreItem({ emotion: 'fully_understood' }).score).toBeCloseTo(1, 9);
    expect(analyzer.scoreItem({ emotion: 'too_hard' }).score).toBeCloseTo(-1, 9);
    expect(analyzer.scoreItem({ rating: 3 }).score).toBeCloseTo(0, 9);
    // The rating counts twice (docs/sentiment.md, rule 13).
    expect(analyzer.scoreItem({ rating: 5, emotion: 'a_bit_hard' }).score).toBeCloseTo((2 * 1 - 0.3) / 3, 9);
    expect(analyzer.scoreItem({ text: 'Great stories, but it keeps crashing on my phone', rating: 5 }).label).toBe('positive');
    expect(analyzer.scoreItem({ text: '故事很好看', rating: 1 }).label).toBe('negative');
    expect(analyzer.scoreItem({ text: '总是闪退', rating: 3 }).label).toBe('negative');
    expect(analyzer.scoreItem({}).label).toBe('neutral');
  });

  it('finds themes in both languages', () => {
    expect(analyzer.themesOf('视频卡顿，字幕也不同步')).toEqual(['video_playback', 'subtitle_sync']);
    expect(analyzer.themesOf('Too expensive and the login keeps failing')).toEqual(['pricing_payment', 'account_data']);
    expect(analyzer.themesOf('nice')).toEqual(['other']);
  });

  it('flags crashes, unusable screens and lost data as urgent, and low ratings', () => {
    expect(analyzer.scoreItem({ text: '打开就闪退' }).urgentReasons).toEqual(['闪退']);
    expect(analyzer.scoreItem({ text: '进度没了！' }).urgent).toBe(true);
    expect(analyzer.scoreItem({ text: "It crashed and I can't open it" }).urgentReasons).toEqual(['crashed', "can't open"]);
    expect(analyzer.scoreItem({ text: 'I lost my progress' }).urgent).toBe(true);
    expect(analyzer.scoreItem({ rating: 2 }).urgentReasons).toEqual(['rating 2']);
    expect(analyzer.scoreItem({ text: 'Crashing to desktop is not a thing on phones, lovely app', rating: 5 }).urgent).toBe(true);
    expect(analyzer.scoreItem({ text: '很好用', rating: 4 }).urgent).toBe(false);
  });
});

describe('the learned layer', () => {
  it('hashes the features it reads exactly as training names them', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 8 }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        (tokens, score) => {
          const rules = { score, label: 'neutral' as const, themes: ['video_playback', 'usage'] };
          const read = new Map<number, number>();
          forEachFeature(tokens, rules, (hash, value) => read.set(hash, (read.get(hash) ?? 0) + value));
          const named = new Map<number, number>();
          for (const [name, value] of featureNames(tokens, rules)) {
            const hash = featureHash(name);
            named.set(hash, (named.get(hash) ?? 0) + value);
          }
          expect(read).toEqual(named);
        },
      ),
    );
  });

  it('decides the label from the rules and the words together, and leaves a neutral text to the rating', () => {
    // One word the rules do not list, weighted negative; the rules' verdict weighted as they say.
    const model = new LearnedModel([
      ['u:spinning', [0, -2, 2]],
      ['label:neutral', [0, 1, 0]],
      ['label:positive', [2, 0, 0]],
    ]);
    const analyzer = new SentimentAnalyzer({ model });
    expect(new SentimentAnalyzer({ model: null }).scoreItem({ text: 'spinning' }).label).toBe('neutral');
    const item = analyzer.scoreItem({ text: 'spinning' });
    expect(item.label).toBe('negative');
    expect(item.text?.learned?.negative).toBeGreaterThan(0.5);
    expect(analyzer.scoreItem({ text: '我晚上学', rating: 5 }).score).toBe(1);
    expect(analyzer.scoreItem({ text: '很好', rating: 3 }).label).toBe('positive');
  });

  it('scores each batch by a layer trained without it (eval:sentiment --by-batch)', () => {
    // The only praise in the sets is batch 1's made-up word, the only blame batch 2's: a layer
    // that never saw a batch cannot get its label right, one that did can.
    const dir = mkdtempSync(join(tmpdir(), 'sentiment-batches-'));
    const lines = (label: string, text: string) => Array.from({ length: 12 }, (_, i) => `${label}\t${text} ${i}`).join('\n');
    for (const set of ['zh', 'en', 'dev-zh', 'dev-mixed'])
      writeFileSync(join(dir, `${set}.tsv`), `${lines('neutral', 'plain words')}\n`);
    writeFileSync(
      join(dir, 'dev-en.tsv'),
      `${lines('neutral', 'the app')}\n# Added first\n${lines('positive', 'zquix zquix')}\n# Added second\n${lines('negative', 'blorf blorf')}\n`,
    );
    const fixtures = pathToFileURL(`${dir}/`);
    expect(readBatches(new URL('dev-en.tsv', fixtures)).map((batch) => batch.items.length)).toEqual([12, 12, 12]);
    expect(leaveOneBatchOut('dev-en', fixtures).map((batch) => [batch.lines, batch.accuracy])).toEqual([
      [12, 0],
      [12, 0],
    ]);
    const seenAll = new SentimentAnalyzer({ model: LearnedModel.parse(trainModel(trainingItems(fixtures))) });
    expect(seenAll.scoreItem({ text: 'zquix zquix 5' }).label).toBe('positive');
  });

  it('ships the model its sources train (npm run train:sentiment)', () => {
    const shipped = readFileSync(MODEL_URL, 'utf8');
    expect(trainModel(trainingItems()) === shipped, 'retrain: npm run train:sentiment').toBe(true);
  });
});

describe('measured accuracy (npm run eval:sentiment)', () => {
  for (const language of ['zh', 'en']) {
    it(`reaches macro-F1 ≥ 0.85 on the ${language} labeled set`, () => {
      const result = evaluate(readLabeledSet(new URL(`./fixtures/sentiment/${language}.tsv`, import.meta.url)));
      expect(result.macroF1).toBeGreaterThanOrEqual(0.85);
      expect(result.accuracy).toBeGreaterThanOrEqual(0.85);
    });
  }
  it('places at least three items in four under a theme (under 25% "other"), held-out sets included', () => {
    for (const language of ['zh', 'en', 'holdout-zh', 'holdout-en']) {
      const result = evaluate(readLabeledSet(new URL(`./fixtures/sentiment/${language}.tsv`, import.meta.url)));
      expect(result.otherShare, language).toBeLessThan(0.25);
    }
  });
  it('keeps the held-out parts of the development sets at their measured floor (never trained or tuned on)', () => {
    // Measured 2026-12-02 (session 15): zh 0.893, en 0.852, mixed 0.933; a retraining moves
    // them ±2 points, so the floors sit 4–6 below and catch a regression.
    for (const [set, floor] of [
      ['dev-zh', 0.85],
      ['dev-en', 0.8],
      ['dev-mixed', 0.87],
    ] as const) {
      const heldOut = readLabeledSet(new URL(`./fixtures/sentiment/${set}.tsv`, import.meta.url)).filter(
        (item) => splitOf(item.text) === 'held-out',
      );
      expect(evaluate(heldOut).accuracy, set).toBeGreaterThanOrEqual(floor);
    }
  });
  it('keeps the held-out sets above 0.75 (sentences never tuned on)', () => {
    for (const language of ['holdout-zh', 'holdout-en']) {
      expect(
        evaluate(readLabeledSet(new URL(`./fixtures/sentiment/${language}.tsv`, import.meta.url))).macroF1,
      ).toBeGreaterThanOrEqual(0.75);
    }
  });
});
