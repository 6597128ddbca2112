/*
 * gen_content_catalog.h — the names gen_content builds its tree from.
 *
 * Data only, private to tests/tools/gen_content.c (kept apart so the
 * generator stays readable): grades, subjects with their grade ranges and
 * editions, chapter topics with three lessons each, chapter ordinals in
 * Tibetan, Uyghur and Mongolian script, and the word lists text is drawn
 * from.  Changing any entry changes every generated tree, so cached bench
 * corpora are keyed by a hash of both files (bench/lib.sh).
 *
 * Lessons are real chapter and lesson titles of the national curriculum
 * (人教版/部编版 textbooks); the minority-language entries are ordinary
 * words of those languages, enough to put every script into paths, titles
 * and text.  No entry may contain a tab, a newline or a '/'.
 */
#ifndef FERRY_TESTS_TOOLS_GEN_CONTENT_CATALOG_H
#define FERRY_TESTS_TOOLS_GEN_CONTENT_CATALOG_H

#include <stdint.h>

enum script { SC_ZH, SC_BO, SC_UG, SC_MN };
enum style { ST_CHAPTER, ST_UNIT, ST_ENGLISH, ST_NATIVE };

static const char *const grades[] = {
	"一年级", "二年级", "三年级", "四年级", "五年级", "六年级",
	"七年级", "八年级", "九年级", "高一", "高二", "高三",
};

static const char *const editions[] = { "人教版", "部编版", "北师大版" };
enum { ED_RENJIAO, ED_BUBIAN, ED_BEISHIDA, ED_DRAW = -1 };

/* Each topic is "chapter topic|lesson|lesson|lesson". */
static const char *const t_yuwen[] = {
	"四季|春|济南的冬天|雨的四季", "至爱亲情|秋天的怀念|散步|散文诗二首",
	"学习生活|《论语》十二章|诫子书|窃读记", "人生之舟|纪念白求恩|植树的牧羊人|走一步，再走一步",
	"想象之翼|皇帝的新装|诗二首|女娲造人", "民俗风情|社戏|回延安|安塞腰鼓",
	"古诗文|观沧海|闻王昌龄左迁龙标遥有此寄|次北固山下", "名著导读|朝花夕拾|西游记|红星照耀中国",
	NULL,
};
static const char *const t_shuxue[] = {
	"有理数|正数和负数|有理数的加减法|有理数的乘除法", "整式的加减|整式|合并同类项|去括号",
	"一元一次方程|从算式到方程|解一元一次方程|实际问题与方程", "几何图形初步|几何图形|直线、射线、线段|角的比较与运算",
	"相交线与平行线|相交线|平行线及其判定|平移", "实数|平方根|立方根|实数的运算",
	"二元一次方程组|消元法|实际问题与方程组|三元一次方程组", "不等式与不等式组|不等式的性质|一元一次不等式|不等式组",
	"数据的收集|统计调查|直方图|数据的分析", "三角形|三角形的边|三角形的内角|多边形及其内角和",
	NULL,
};
static const char *const t_yingyu[] = {
	"Making Friends|My name's Gina|Is this your pencil|Where's my schoolbag",
	"My Family|This is my sister|Do you like bananas|When is your birthday",
	"School Life|How do you get to school|Don't eat in class|What time do you go to school",
	"Hobbies|Can you play the guitar|I'm watching TV|Let's play sports",
	"The Weather|It's raining|How's the weather|Seasons",
	"Food|I'd like some noodles|How do you make a banana milk shake|Healthy food",
	"Travel|Where did you go on vacation|How was your trip|A visit to Beijing",
	"Animals|Why do you like pandas|Save the elephants|Animals in danger",
	NULL,
};
static const char *const t_wuli[] = {
	"机械运动|长度和时间的测量|运动的描述|运动的快慢", "声现象|声音的产生与传播|声音的特性|噪声的危害和控制",
	"物态变化|温度|熔化和凝固|汽化和液化", "光现象|光的直线传播|光的反射|平面镜成像",
	"透镜及其应用|透镜|凸透镜成像的规律|眼睛和眼镜", "质量与密度|质量|密度|测量物质的密度",
	"力|力的作用效果|弹力|重力", "压强|固体的压强|液体的压强|大气压强",
	NULL,
};
static const char *const t_huaxue[] = {
	"走进化学世界|物质的变化和性质|化学是一门以实验为基础的科学|走进化学实验室",
	"我们周围的空气|空气|氧气|制取氧气", "物质构成的奥秘|分子和原子|原子的结构|元素",
	"自然界的水|爱护水资源|水的净化|水的组成",
	"化学方程式|质量守恒定律|如何正确书写化学方程式|利用化学方程式的简单计算",
	"碳和碳的氧化物|金刚石、石墨和C60|二氧化碳制取的研究|二氧化碳和一氧化碳",
	"燃料及其利用|燃烧和灭火|燃料的合理利用与开发|能源", "金属和金属材料|金属材料|金属的化学性质|金属资源的利用和保护",
	NULL,
};
static const char *const t_shengwu[] = {
	"生物和生物圈|认识生物|生物与环境的关系|生态系统", "细胞是生命活动的基本单位|练习使用显微镜|植物细胞|动物细胞",
	"生物圈中的绿色植物|种子植物|种子的萌发|植株的生长", "人体的营养|食物中的营养物质|消化和吸收|合理营养与食品安全",
	"人体的呼吸|呼吸道对空气的处理|发生在肺内的气体交换|呼吸与健康",
	"人体内物质的运输|流动的组织——血液|血流的管道——血管|输送血液的泵——心脏",
	"生物的遗传和变异|基因控制生物的性状|基因在亲子代间的传递|生物的变异", "健康地生活|传染病及其预防|免疫与计划免疫|用药与急救",
	NULL,
};
static const char *const t_lishi[] = {
	"史前时期|中国境内早期人类的代表——北京人|原始农耕生活|远古的传说", "夏商周时期|夏商周的更替|青铜器与甲骨文|动荡的春秋时期",
	"秦汉时期|秦统一中国|西汉建立和“文景之治”|丝绸之路的开通与经营西域",
	"三国两晋南北朝时期|三国鼎立|东晋南朝时期江南地区的开发|北魏政治和北方民族大交融",
	"隋唐时期|隋朝的统一与灭亡|从“贞观之治”到“开元盛世”|唐朝的中外文化交流",
	"宋元时期|北宋的政治|辽、西夏与北宋的并立|宋元时期的都市和文化", "明清时期|明朝的统治|郑和下西洋|清朝前期社会经济的发展",
	"近代化的探索|洋务运动|戊戌变法|辛亥革命",
	NULL,
};
static const char *const t_dili[] = {
	"地球和地图|地球和地球仪|地球的运动|地图的阅读", "陆地和海洋|大洲和大洋|海陆的变迁|板块构造学说",
	"天气与气候|多变的天气|气温的变化与分布|降水的变化与分布", "居民与聚落|人口与人种|语言与宗教|聚落",
	"中国的疆域与人口|疆域|人口|民族", "中国的自然环境|地势和地形|气候|河流",
	"中国的自然资源|自然资源的基本特征|土地资源|水资源", "中国的地理差异|四大地理区域的划分|北方地区|青藏地区",
	NULL,
};
static const char *const t_daode[] = {
	"成长的节拍|中学时代|少年有梦|学习伴成长", "友谊的天空|和朋友在一起|深深浅浅话友谊|交友的智慧",
	"师长情谊|师生之间|亲情之爱|让家更美好", "生命的思考|探问生命|守护生命|敬畏生命",
	"遵守社会规则|社会生活离不开规则|遵守规则|维护秩序", "法律在我们身边|法律保障生活|法律伴随我们成长|依法办事",
	"走进社会生活|我与社会|在社会中成长|网络生活新空间", "勇担社会责任|责任与角色同在|做负责任的人|服务社会",
	NULL,
};
static const char *const t_bo[] = {
	"གསལ་བྱེད།|ཀ་ཁ་ག་ང་།|ཅ་ཆ་ཇ་ཉ།|ཏ་ཐ་ད་ན།", "དབྱངས།|གི་གུ།|ཞབས་ཀྱུ།|འགྲེང་བུ།",
	"ཚིག་གྲུབ།|མིང་ཚིག|བྱ་ཚིག|ཚིག་རྒྱན།", "སྙན་ངག|གངས་རི།|མཚོ་སྔོན་པོ།|ཉི་མ་ཤར།",
	"རྩོམ་ཡིག|ངའི་ཕ་ཡུལ།|ངའི་སློབ་གྲྭ།|ངའི་ཨ་མ།",
	NULL,
};
static const char *const t_ug[] = {
	"ئېلىپبە|سوزۇق تاۋۇشلار|ئۈزۈك تاۋۇشلار|بوغۇم", "سۆز|ئىسىم|پېئىل|سۈپەت",
	"جۈملە|ئاددىي جۈملە|مۇرەككەپ جۈملە|تىنىش بەلگىلىرى", "شېئىر|ۋەتىنىم|باھار|ئانا",
	"ھېكايە|ئەقىللىق بالا|تۈلكە بىلەن قاغا|دوستلۇق",
	NULL,
};
static const char *const t_mn[] = {
	"ᠴᠠᠭᠠᠨ ᠲᠣᠯᠣᠭᠠᠢ|ᠡᠬᠢᠰᠭᠡᠯᠡᠩ|ᠭᠡᠶᠢᠭᠦᠯᠦᠭᠴᠢ|ᠦᠶᠡ", "ᠰᠢᠯᠦᠭ|ᠮᠢᠨᠤ ᠨᠤᠲᠤᠭ|ᠠᠭᠤᠯᠠ|ᠮᠣᠷᠢ",
	"ᠦᠯᠢᠭᠡᠷ|ᠴᠡᠴᠡᠨ ᠬᠡᠦᠬᠡᠳ|ᠦᠨᠡᠭᠡ|ᠨᠥᠬᠥᠷᠯᠡᠯ", "ᠬᠠᠪᠤᠷ|ᠬᠠᠪᠤᠷ ᠤᠨ ᠡᠳᠦᠷ|ᠴᠡᠴᠡᠭ|ᠮᠣᠳᠣ",
	"ᠬᠢᠴᠢᠶᠡᠯ|ᠪᠢᠴᠢᠭ|ᠤᠩᠰᠢᠯᠭ|ᠳᠠᠰᠬᠠᠯ",
	NULL,
};

/* Chapter ordinals in the three minority scripts (chapter 1..8). */
static const char *const ord_bo[] = {
	"ལེའུ་དང་པོ།", "ལེའུ་གཉིས་པ།", "ལེའུ་གསུམ་པ།", "ལེའུ་བཞི་པ།",
	"ལེའུ་ལྔ་པ།", "ལེའུ་དྲུག་པ།", "ལེའུ་བདུན་པ།", "ལེའུ་བརྒྱད་པ།",
};
static const char *const ord_ug[] = {
	"بىرىنچى باب", "ئىككىنچى باب", "ئۈچىنچى باب", "تۆتىنچى باب",
	"بەشىنچى باب", "ئالتىنچى باب", "يەتتىنچى باب", "سەككىزىنچى باب",
};
static const char *const ord_mn[] = {
	"ᠨᠢᠭᠡᠳᠦᠭᠡᠷ ᠪᠦᠯᠦᠭ", "ᠬᠣᠶᠠᠳᠤᠭᠠᠷ ᠪᠦᠯᠦᠭ", "ᠭᠤᠷᠪᠠᠳᠤᠭᠠᠷ ᠪᠦᠯᠦᠭ", "ᠳᠦᠷᠪᠡᠳᠦᠭᠡᠷ ᠪᠦᠯᠦᠭ",
	"ᠲᠠᠪᠤᠳᠤᠭᠠᠷ ᠪᠦᠯᠦᠭ", "ᠵᠢᠷᠭᠤᠳᠤᠭᠠᠷ ᠪᠦᠯᠦᠭ", "ᠳᠣᠯᠣᠳᠤᠭᠠᠷ ᠪᠦᠯᠦᠭ", "ᠨᠠᠢᠮᠠᠳᠤᠭᠠᠷ ᠪᠦᠯᠦᠭ",
};
static const char *const cn_num[] = { "一", "二", "三", "四", "五", "六", "七", "八" };
#define GEN_MAX_CHAPTERS_PER_SUBJECT 8u

struct subject {
	const char *name;           /* folder name, as the platform spells it */
	const char *zh;             /* Chinese name, for titles */
	uint8_t first, last;        /* grade range (indices into grades[]) */
	uint8_t script, style;
	int8_t edition;             /* fixed edition, or ED_DRAW to draw one per grade */
	const char *const *topics;
	const char *const *ordinals; /* native chapter ordinals, for ST_NATIVE */
};

static const struct subject subjects[] = {
	{ "语文", "语文", 0, 11, SC_ZH, ST_UNIT, ED_BUBIAN, t_yuwen, NULL },
	{ "数学", "数学", 0, 11, SC_ZH, ST_CHAPTER, ED_DRAW, t_shuxue, NULL },
	{ "英语", "英语", 2, 11, SC_ZH, ST_ENGLISH, ED_DRAW, t_yingyu, NULL },
	{ "物理", "物理", 7, 11, SC_ZH, ST_CHAPTER, ED_DRAW, t_wuli, NULL },
	{ "化学", "化学", 8, 11, SC_ZH, ST_CHAPTER, ED_DRAW, t_huaxue, NULL },
	{ "生物", "生物", 6, 11, SC_ZH, ST_CHAPTER, ED_DRAW, t_shengwu, NULL },
	{ "历史", "历史", 6, 11, SC_ZH, ST_CHAPTER, ED_BUBIAN, t_lishi, NULL },
	{ "地理", "地理", 6, 11, SC_ZH, ST_CHAPTER, ED_DRAW, t_dili, NULL },
	{ "道德与法治", "道德与法治", 0, 8, SC_ZH, ST_CHAPTER, ED_BUBIAN, t_daode, NULL },
	{ "བོད་ཡིག", "藏语文", 0, 8, SC_BO, ST_NATIVE, ED_RENJIAO, t_bo, ord_bo },
	{ "ئۇيغۇر تىلى", "维吾尔语文", 0, 8, SC_UG, ST_NATIVE, ED_RENJIAO, t_ug, ord_ug },
	{ "ᠮᠣᠩᠭᠣᠯ ᠬᠡᠯᠡ", "蒙古语文", 0, 8, SC_MN, ST_NATIVE, ED_RENJIAO, t_mn, ord_mn },
};
enum { SUBJ_FIRST_NATIVE = 9 };

struct word {
	const char *s;
	uint8_t n;
};
#define W(s) { s, sizeof(s) - 1 }

static const struct word w_zh[] = {
	W("学生"), W("老师"), W("课堂"), W("知识"), W("学习"), W("问题"), W("方法"), W("练习"),
	W("思考"), W("理解"), W("阅读"), W("写作"), W("实验"), W("观察"), W("记录"), W("分析"),
	W("结论"), W("自然"), W("社会"), W("历史"), W("地理"), W("国家"), W("人民"), W("生活"),
	W("世界"), W("科学"), W("技术"), W("发展"), W("变化"), W("规律"), W("概念"), W("定义"),
	W("性质"), W("定理"), W("公式"), W("计算"), W("图形"), W("面积"), W("体积"), W("速度"),
	W("时间"), W("空间"), W("数据"), W("统计"), W("函数"), W("方程"), W("比例"), W("分数"),
	W("文章"), W("段落"), W("句子"), W("词语"), W("汉字"), W("拼音"), W("朗读"), W("背诵"),
	W("故事"), W("诗歌"), W("作者"), W("主题"), W("情感"), W("描写"), W("说明"), W("议论"),
	W("环境"), W("生物"), W("细胞"), W("植物"), W("动物"), W("能量"), W("物质"), W("元素"),
	W("分子"), W("原子"), W("溶液"), W("反应"), W("温度"), W("压强"), W("电流"), W("光线"),
	W("声音"), W("运动"), W("地球"), W("气候"), W("河流"), W("山脉"), W("城市"), W("乡村"),
	W("文化"), W("传统"), W("民族"), W("团结"), W("合作"), W("交流"), W("讨论"), W("探究"),
	W("总结"), W("复习"), W("预习"), W("作业"), W("目标"), W("计划"), W("习惯"), W("兴趣"),
	W("能力"), W("实践"), W("经验"), W("过程"), W("结果"), W("原因"), W("意义"), W("责任"),
	W("的"), W("是"), W("在"), W("和"), W("我们"), W("通过"), W("可以"), W("需要"),
};
static const struct word w_bo[] = {
	W("བོད་ཡིག"), W("སློབ་མ"), W("དགེ་རྒན"), W("སློབ་གྲྭ"), W("ཤེས་བྱ"), W("དེབ"), W("ཡི་གེ"), W("ཚིག"),
	W("གཏམ་རྒྱུད"), W("སྙན་ངག"), W("ཕ་ཡུལ"), W("ཨ་མ"), W("ཉི་མ"), W("ཟླ་བ"), W("རི"), W("ཆུ"),
};
static const struct word w_ug[] = {
	W("مەكتەپ"), W("ئوقۇغۇچى"), W("ئوقۇتقۇچى"), W("كىتاب"), W("دەرس"), W("بىلىم"), W("تىل"), W("سۆز"),
	W("جۈملە"), W("شېئىر"), W("ھېكايە"), W("ۋەتەن"), W("ئانا"), W("باھار"), W("قۇياش"), W("سۇ"),
};
static const struct word w_mn[] = {
	W("ᠰᠤᠷᠭᠠᠭᠤᠯᠢ"), W("ᠰᠤᠷᠤᠭᠴᠢ"), W("ᠪᠠᠭᠰᠢ"), W("ᠨᠣᠮ"), W("ᠬᠢᠴᠢᠶᠡᠯ"), W("ᠡᠷᠳᠡᠮ"), W("ᠬᠡᠯᠡ"), W("ᠦᠭᠡ"),
	W("ᠪᠢᠴᠢᠭ"), W("ᠰᠢᠯᠦᠭ"), W("ᠦᠯᠢᠭᠡᠷ"), W("ᠨᠤᠲᠤᠭ"), W("ᠡᠬᠡ"), W("ᠬᠠᠪᠤᠷ"), W("ᠨᠠᠷᠠ"), W("ᠤᠰᠤ"),
};

#endif
