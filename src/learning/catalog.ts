/**
 * The MVP content: three interest themes, two chapters (dramas) each, fifteen
 * story clues (keywords) per drama. `smartalk seed` writes it to the database;
 * learning/media.ts renders its videos and audio with ffmpeg.
 */

export interface CatalogInterest {
  id: string;
  nameEn: string;
  nameZh: string;
  badgeEn: string;
  badgeZh: string;
  descriptionEn: string;
  descriptionZh: string;
  dramas: CatalogDrama[];
}

export interface CatalogDrama {
  titleEn: string;
  titleZh: string;
  synopsisEn: string;
  synopsisZh: string;
  /** [word, IPA, 中文, example, 例句] */
  keywords: Array<[string, string, string, string, string]>;
}

export const DRAMA_SECONDS = 60;
export const CLIP_SECONDS = 2;
export const OPTIONS_PER_KEYWORD = 4;

export const CATALOG: CatalogInterest[] = [
  {
    id: 'travel',
    nameEn: 'Travel',
    nameZh: '旅行',
    badgeEn: 'Travel Survivor',
    badgeZh: '旅行生存家',
    descriptionEn: 'Airports, hotels and streets: the English that gets you there and back.',
    descriptionZh: '机场、酒店、街头：让你顺利出行的英语。',
    dramas: [
      {
        titleEn: 'Lost at the Airport',
        titleZh: '机场迷途',
        synopsisEn: 'Lin Wei lands in London with ten minutes to catch a connecting flight.',
        synopsisZh: '林伟在伦敦落地，只有十分钟赶转机航班。',
        keywords: [
          ['passport', '/ˈpɑːspɔːt/', '护照', 'May I see your passport, please?', '请出示您的护照。'],
          ['boarding pass', '/ˈbɔːdɪŋ pɑːs/', '登机牌', 'Keep your boarding pass with you.', '请随身携带登机牌。'],
          ['gate', '/ɡeɪt/', '登机口', 'Your flight leaves from gate 23.', '您的航班在23号登机口登机。'],
          ['luggage', '/ˈlʌɡɪdʒ/', '行李', 'My luggage did not arrive.', '我的行李没有到。'],
          ['delay', '/dɪˈleɪ/', '延误', 'There is a two-hour delay.', '航班延误了两个小时。'],
          ['check in', '/tʃek ɪn/', '办理登机', 'Where do I check in?', '我在哪里办理登机？'],
          ['departure', '/dɪˈpɑːtʃə/', '出发；离港', 'Departures are on the upper floor.', '出发大厅在楼上。'],
          ['arrival', '/əˈraɪvl/', '到达', 'Meet me at arrivals.', '在到达大厅等我。'],
          ['customs', '/ˈkʌstəmz/', '海关', 'We went through customs quickly.', '我们很快通过了海关。'],
          ['ticket', '/ˈtɪkɪt/', '票', 'I lost my train ticket.', '我的火车票丢了。'],
          ['flight', '/flaɪt/', '航班', 'The flight is full.', '航班满了。'],
          ['seat', '/siːt/', '座位', 'Could I have a window seat?', '我能要一个靠窗的座位吗？'],
          ['announcement', '/əˈnaʊnsmənt/', '广播通知', 'Listen to the announcement.', '请注意听广播。'],
          ['terminal', '/ˈtɜːmɪnl/', '航站楼', 'Take the shuttle to Terminal 5.', '乘摆渡车去5号航站楼。'],
          ['connecting flight', '/kəˈnektɪŋ flaɪt/', '转机航班', 'I might miss my connecting flight.', '我可能会错过转机航班。'],
        ],
      },
      {
        titleEn: 'A Room with a View',
        titleZh: '酒店入住',
        synopsisEn: 'The hotel has lost Lin Wei’s reservation, and the only free room is above a night club.',
        synopsisZh: '酒店弄丢了林伟的预订，唯一的空房在夜店楼上。',
        keywords: [
          ['reservation', '/ˌrezəˈveɪʃn/', '预订', 'I have a reservation for two nights.', '我预订了两晚。'],
          ['reception', '/rɪˈsepʃn/', '前台', 'Please ask at reception.', '请到前台询问。'],
          ['key card', '/kiː kɑːd/', '房卡', 'My key card does not work.', '我的房卡打不开门。'],
          ['single room', '/ˈsɪŋɡl ruːm/', '单人间', 'A single room is enough.', '一间单人间就够了。'],
          ['breakfast', '/ˈbrekfəst/', '早餐', 'Is breakfast included?', '含早餐吗？'],
          ['check out', '/tʃek aʊt/', '退房', 'We check out at noon.', '我们中午退房。'],
          ['elevator', '/ˈelɪveɪtə/', '电梯', 'The elevator is on your left.', '电梯在您左手边。'],
          ['towel', '/ˈtaʊəl/', '毛巾', 'Could I get another towel?', '能再给我一条毛巾吗？'],
          ['password', '/ˈpɑːswɜːd/', '密码', 'What is the Wi-Fi password?', '无线网密码是多少？'],
          ['receipt', '/rɪˈsiːt/', '收据', 'Can I have a receipt?', '可以给我一张收据吗？'],
          ['deposit', '/dɪˈpɒzɪt/', '押金', 'The deposit is fifty pounds.', '押金是五十英镑。'],
          ['room service', '/ruːm ˈsɜːvɪs/', '客房服务', 'I ordered room service.', '我点了客房服务。'],
          ['upgrade', '/ˈʌpɡreɪd/', '升级', 'We can offer you a free upgrade.', '我们可以为您免费升级。'],
          ['noisy', '/ˈnɔɪzi/', '吵闹的', 'The room is too noisy.', '房间太吵了。'],
          ['view', '/vjuː/', '景色', 'The room has a lovely view.', '房间的景色很美。'],
        ],
      },
    ],
  },
  {
    id: 'movies',
    nameEn: 'Movies',
    nameZh: '电影',
    badgeEn: 'Movie Buff',
    badgeZh: '电影达人',
    descriptionEn: 'On set and in the cinema: the words behind the stories you love.',
    descriptionZh: '片场与影院：你喜爱的故事背后的英语。',
    dramas: [
      {
        titleEn: 'The Last Take',
        titleZh: '最后一条',
        synopsisEn: 'A young director has one hour of daylight left to shoot the final scene.',
        synopsisZh: '年轻导演只剩一小时的日光来拍最后一场戏。',
        keywords: [
          ['director', '/dəˈrektə/', '导演', 'The director wants one more take.', '导演还想再拍一条。'],
          ['actor', '/ˈæktə/', '演员', 'The actor forgot his lines.', '演员忘词了。'],
          ['script', '/skrɪpt/', '剧本', 'Have you read the script?', '你读过剧本了吗？'],
          ['scene', '/siːn/', '场景；一场戏', 'This scene was shot in Paris.', '这场戏是在巴黎拍的。'],
          ['rehearsal', '/rɪˈhɜːsl/', '排练', 'Rehearsal starts at eight.', '排练八点开始。'],
          ['camera', '/ˈkæmərə/', '摄像机', 'Look at the camera.', '看镜头。'],
          ['action', '/ˈækʃn/', '开拍', 'Lights, camera, action!', '灯光，摄像，开拍！'],
          ['cut', '/kʌt/', '停；咔', 'Cut! Let us try again.', '咔！我们再来一次。'],
          ['lines', '/laɪnz/', '台词', 'She knows all her lines.', '她的台词全背熟了。'],
          ['costume', '/ˈkɒstjuːm/', '戏服', 'The costume is too big.', '戏服太大了。'],
          ['audience', '/ˈɔːdiəns/', '观众', 'The audience loved it.', '观众很喜欢。'],
          ['premiere', '/ˈpremieə/', '首映', 'The premiere is next Friday.', '首映在下周五。'],
          ['trailer', '/ˈtreɪlə/', '预告片', 'Did you see the trailer?', '你看预告片了吗？'],
          ['sequel', '/ˈsiːkwəl/', '续集', 'They are making a sequel.', '他们在拍续集。'],
          ['plot twist', '/plɒt twɪst/', '剧情反转', 'Nobody saw that plot twist coming.', '没人想到会有这个反转。'],
        ],
      },
      {
        titleEn: 'Review Night',
        titleZh: '影评之夜',
        synopsisEn: 'Two friends argue about a blockbuster all the way home from the cinema.',
        synopsisZh: '两个朋友从电影院一路争论一部大片。',
        keywords: [
          ['review', '/rɪˈvjuː/', '影评', 'The review was very positive.', '影评非常正面。'],
          ['rating', '/ˈreɪtɪŋ/', '评分', 'It has a high rating online.', '它在网上评分很高。'],
          ['critic', '/ˈkrɪtɪk/', '影评人', 'The critics hated it.', '影评人都很讨厌它。'],
          ['soundtrack', '/ˈsaʊndtræk/', '原声音乐', 'I love the soundtrack.', '我很喜欢这部电影的原声。'],
          ['subtitles', '/ˈsʌbtaɪtlz/', '字幕', 'Can we turn off the subtitles?', '我们能关掉字幕吗？'],
          ['box office', '/bɒks ˈɒfɪs/', '票房', 'It did well at the box office.', '它票房很好。'],
          ['blockbuster', '/ˈblɒkbʌstə/', '大片', 'It is this summer’s blockbuster.', '这是今年夏天的大片。'],
          ['character', '/ˈkærəktə/', '角色', 'Who is your favourite character?', '你最喜欢哪个角色？'],
          ['ending', '/ˈendɪŋ/', '结局', 'I did not understand the ending.', '我没看懂结局。'],
          ['spoiler', '/ˈspɔɪlə/', '剧透', 'No spoilers, please!', '请不要剧透！'],
          ['genre', '/ˈʒɒnrə/', '类型', 'Horror is not my genre.', '恐怖片不是我喜欢的类型。'],
          ['comedy', '/ˈkɒmədi/', '喜剧', 'Let us watch a comedy tonight.', '今晚我们看喜剧吧。'],
          ['thriller', '/ˈθrɪlə/', '惊悚片', 'The thriller kept me awake.', '那部惊悚片让我睡不着。'],
          ['masterpiece', '/ˈmɑːstəpiːs/', '杰作', 'Critics call it a masterpiece.', '影评人称它为杰作。'],
          ['recommend', '/ˌrekəˈmend/', '推荐', 'I highly recommend this film.', '我强烈推荐这部电影。'],
        ],
      },
    ],
  },
  {
    id: 'workplace',
    nameEn: 'Workplace',
    nameZh: '职场',
    badgeEn: 'Workplace Elite',
    badgeZh: '职场精英',
    descriptionEn: 'Meetings, emails and pitches: English for an international office.',
    descriptionZh: '会议、邮件与提案：国际化职场英语。',
    dramas: [
      {
        titleEn: 'First Day',
        titleZh: '入职第一天',
        synopsisEn: 'Zhang Min starts at a London start-up and is asked to present on day one.',
        synopsisZh: '张敏加入伦敦一家创业公司，第一天就被要求做演示。',
        keywords: [
          ['colleague', '/ˈkɒliːɡ/', '同事', 'This is my colleague, Tom.', '这是我的同事汤姆。'],
          ['manager', '/ˈmænɪdʒə/', '经理', 'My manager is very supportive.', '我的经理很支持我。'],
          ['meeting', '/ˈmiːtɪŋ/', '会议', 'The meeting starts at ten.', '会议十点开始。'],
          ['deadline', '/ˈdedlaɪn/', '截止日期', 'The deadline is Friday.', '截止日期是周五。'],
          ['schedule', '/ˈʃedjuːl/', '日程', 'Let me check my schedule.', '我看一下我的日程。'],
          ['report', '/rɪˈpɔːt/', '报告', 'Please send me the report.', '请把报告发给我。'],
          ['presentation', '/ˌpreznˈteɪʃn/', '演示；汇报', 'Your presentation was great.', '你的汇报很棒。'],
          ['email', '/ˈiːmeɪl/', '邮件', 'I will reply to your email today.', '我今天会回复你的邮件。'],
          ['project', '/ˈprɒdʒekt/', '项目', 'The project is on track.', '项目进展顺利。'],
          ['team', '/tiːm/', '团队', 'Welcome to the team!', '欢迎加入团队！'],
          ['office', '/ˈɒfɪs/', '办公室', 'The office is on the fifth floor.', '办公室在五楼。'],
          ['salary', '/ˈsæləri/', '薪水', 'The salary is paid monthly.', '薪水按月发放。'],
          ['interview', '/ˈɪntəvjuː/', '面试', 'How was your interview?', '你的面试怎么样？'],
          ['promotion', '/prəˈməʊʃn/', '升职', 'She got a promotion.', '她升职了。'],
          ['feedback', '/ˈfiːdbæk/', '反馈', 'Thanks for the feedback.', '谢谢你的反馈。'],
        ],
      },
      {
        titleEn: 'The Big Pitch',
        titleZh: '重要提案',
        synopsisEn: 'The team has one video call to win their biggest client.',
        synopsisZh: '团队只有一次视频会议的机会拿下最大的客户。',
        keywords: [
          ['client', '/ˈklaɪənt/', '客户', 'The client is happy with the design.', '客户对设计很满意。'],
          ['proposal', '/prəˈpəʊzl/', '提案', 'We sent the proposal yesterday.', '我们昨天发出了提案。'],
          ['budget', '/ˈbʌdʒɪt/', '预算', 'We are over budget.', '我们超预算了。'],
          ['negotiate', '/nɪˈɡəʊʃieɪt/', '谈判', 'We need to negotiate the price.', '我们需要谈一下价格。'],
          ['contract', '/ˈkɒntrækt/', '合同', 'Please sign the contract.', '请签合同。'],
          ['agenda', '/əˈdʒendə/', '议程', 'What is on the agenda?', '议程上有什么？'],
          ['conference call', '/ˈkɒnfərəns kɔːl/', '电话会议', 'Join the conference call at three.', '三点参加电话会议。'],
          ['follow up', '/ˈfɒləʊ ʌp/', '跟进', 'I will follow up by email.', '我会发邮件跟进。'],
          ['priority', '/praɪˈɒrəti/', '优先事项', 'This is our top priority.', '这是我们的首要任务。'],
          ['brainstorm', '/ˈbreɪnstɔːm/', '头脑风暴', 'Let us brainstorm some ideas.', '我们来头脑风暴一下。'],
          ['invoice', '/ˈɪnvɔɪs/', '发票', 'The invoice is attached.', '发票在附件里。'],
          ['quarter', '/ˈkwɔːtə/', '季度', 'Sales grew this quarter.', '这个季度销售额增长了。'],
          ['target', '/ˈtɑːɡɪt/', '目标', 'We hit our target.', '我们达成了目标。'],
          ['launch', '/lɔːntʃ/', '发布；上线', 'The launch is next month.', '下个月发布。'],
          ['strategy', '/ˈstrætədʒi/', '战略', 'We need a new strategy.', '我们需要新的战略。'],
        ],
      },
    ],
  },
];

export const dramaId = (interestId: string, chapter: number) => `${interestId}-${String(chapter).padStart(2, '0')}`;
export const keywordId = (drama: string, position: number) => `${drama}-k${String(position).padStart(2, '0')}`;
