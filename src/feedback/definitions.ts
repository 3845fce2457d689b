/**
 * The one definition of the feedback report's figures and names, used by the report,
 * its gauges on /metrics and the NegativeFeedbackRising alert alike (the analytics
 * counterpart is analytics/definitions.ts).
 */
import type { Bilingual } from '../i18n.js';
import type { EmotionId } from '../learning/emotions.js';
import type { Theme } from './sentiment.js';

/** Windows, thresholds and list sizes. */
export const FEEDBACK_METRICS = {
  baselineDays: 7,
  /** "Negative feedback rising": current negative share > this × the baseline's… */
  risingFactor: 1.5,
  /** …with at least this many items in the window. */
  risingMinItems: 20,
  /** Magic-moment answers that count as success: 😍 🤩 🔥. */
  successEmotions: ['fully_understood', 'easier_than_expected', 'want_more'] as EmotionId[],
  magicMomentGood: 0.5,
  magicMomentExcellent: 0.7,
  examplesPerTheme: 3,
  urgentListed: 20,
} as const;

/** What to look at when a theme gathers negative feedback. */
export const THEME_ADVICE: Record<Theme, Bilingual> = {
  video_playback: {
    en: 'check the CDN cache hit ratio and the video encodings (ffprobe)',
    zh: '检查 CDN 缓存命中率与视频编码（ffprobe）',
  },
  loading_speed: { en: 'check API latency and video sizes at the edge', zh: '检查接口响应时间与视频体积' },
  audio_quality: { en: 'review the audio tracks and pronunciation clips', zh: '检查音轨与发音片段' },
  responsiveness: { en: 'profile the client screens named in the context', zh: '排查反馈上下文中提到的页面卡顿' },
  subtitle_sync: { en: 're-time the subtitle tracks of the dramas mentioned', zh: '重新校对相关短剧的字幕时间轴' },
  content_difficulty: {
    en: 'review chapter difficulty and add hints (focus/rescue mode)',
    zh: '评估章节难度，增加提示（专注/救援模式）',
  },
  pricing_payment: { en: 'review pricing copy and failed payments', zh: '检查价格说明与支付失败' },
  account_data: { en: 'check login and progress sync', zh: '检查登录与学习进度同步' },
  other: { en: 'read the items', zh: '逐条阅读反馈' },
};

export const THEME_NAMES: Record<Theme, Bilingual> = {
  video_playback: { en: 'Video playback', zh: '视频播放' },
  loading_speed: { en: 'Loading speed', zh: '加载速度' },
  audio_quality: { en: 'Audio quality', zh: '音频质量' },
  responsiveness: { en: 'Responsiveness', zh: '响应速度' },
  subtitle_sync: { en: 'Subtitle sync', zh: '字幕同步' },
  content_difficulty: { en: 'Content difficulty', zh: '内容难度' },
  pricing_payment: { en: 'Pricing / payment', zh: '价格 / 支付' },
  account_data: { en: 'Account / data', zh: '账号 / 数据' },
  other: { en: 'Other', zh: '其他' },
};
