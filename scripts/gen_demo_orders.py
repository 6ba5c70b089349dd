#!/usr/bin/env python3
"""Generate the demo shoppers and orders of 栖木生活 Qimu Living.

Reads knowledge/catalog/products.toml and writes
knowledge/demo/shoppers.json and knowledge/demo/orders.json.
Standard library only, fixed seed: running it twice gives byte-identical files.

Every rule used here comes from knowledge/STORE_POLICY.md:
- "now" is 2026-11-25T09:00:00+08:00; orders are created from 2026-08-20.
- unpaid orders are cancelled automatically 30 minutes after they are placed, so
  pending_payment orders were all placed in the last 30 minutes;
- paid before 16:00 ships the same day, otherwise within 48 hours (72 h around Double 11);
- shipping fee: free when subtotal - discount >= 99, else 8; remote provinces 20 on every order;
- ZTO by default, SF for Gold/Diamond (free upgrade); Gold/Diamond get free shipping insurance;
  other shoppers pay 0.8-3 yuan for it at checkout (insurance_fee, part of total);
- member prices: Silver 98%, Gold 95%, Diamond 92% (shown as a discount line);
- coupons: at most one store coupon and one platform coupon per order, each with a minimum spend;
- transit: Jiangsu/Zhejiang/Shanghai 1-2 days, most provinces 2-4 days, remote 5-8 days;
- returns: no-reason within 7 days of delivery and only for returnable products; quality problems
  within 30 days for apparel and home textiles; wrong/damaged items reported within 48 hours;
  the refund is issued once the warehouse has checked the parcel (within 48 h of receipt);
  refunded_at is that moment (the money then takes the payment method's own time to arrive);
- Huabei installments only on orders of at least 100 yuan.

total = subtotal - discount + shipping_fee + insurance_fee
"""

from __future__ import annotations

import json
import random
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTS = ROOT / "knowledge" / "catalog" / "products.toml"
OUT_DIR = ROOT / "knowledge" / "demo"

TZ = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 25, 9, 0, 0, tzinfo=TZ)
START = datetime(2026, 8, 20, 0, 0, 0, tzinfo=TZ)

REMOTE = {"新疆维吾尔自治区", "西藏自治区", "青海省", "甘肃省", "宁夏回族自治区", "内蒙古自治区"}
NEAR = {"浙江省", "江苏省", "上海市"}

# province, city, English city, courier hub (zh, en)
CITIES = {
    "杭州": ("浙江省", "杭州市", "Hangzhou", "杭州萧山", "Hangzhou Xiaoshan"),
    "宁波": ("浙江省", "宁波市", "Ningbo", "宁波", "Ningbo"),
    "上海": ("上海市", "上海市", "Shanghai", "上海青浦", "Shanghai Qingpu"),
    "南京": ("江苏省", "南京市", "Nanjing", "南京", "Nanjing"),
    "苏州": ("江苏省", "苏州市", "Suzhou", "苏州", "Suzhou"),
    "北京": ("北京市", "北京市", "Beijing", "北京顺义", "Beijing Shunyi"),
    "天津": ("天津市", "天津市", "Tianjin", "天津", "Tianjin"),
    "广州": ("广东省", "广州市", "Guangzhou", "广州白云", "Guangzhou Baiyun"),
    "深圳": ("广东省", "深圳市", "Shenzhen", "深圳", "Shenzhen"),
    "成都": ("四川省", "成都市", "Chengdu", "成都双流", "Chengdu Shuangliu"),
    "重庆": ("重庆市", "重庆市", "Chongqing", "重庆", "Chongqing"),
    "武汉": ("湖北省", "武汉市", "Wuhan", "武汉", "Wuhan"),
    "长沙": ("湖南省", "长沙市", "Changsha", "长沙", "Changsha"),
    "西安": ("陕西省", "西安市", "Xi'an", "西安", "Xi'an"),
    "郑州": ("河南省", "郑州市", "Zhengzhou", "郑州", "Zhengzhou"),
    "济南": ("山东省", "济南市", "Jinan", "济南", "Jinan"),
    "青岛": ("山东省", "青岛市", "Qingdao", "青岛", "Qingdao"),
    "厦门": ("福建省", "厦门市", "Xiamen", "厦门", "Xiamen"),
    "合肥": ("安徽省", "合肥市", "Hefei", "合肥", "Hefei"),
    "沈阳": ("辽宁省", "沈阳市", "Shenyang", "沈阳", "Shenyang"),
    "哈尔滨": ("黑龙江省", "哈尔滨市", "Harbin", "哈尔滨", "Harbin"),
    "昆明": ("云南省", "昆明市", "Kunming", "昆明", "Kunming"),
    "南宁": ("广西壮族自治区", "南宁市", "Nanning", "南宁", "Nanning"),
    "乌鲁木齐": ("新疆维吾尔自治区", "乌鲁木齐市", "Urumqi", "乌鲁木齐", "Urumqi"),
    "拉萨": ("西藏自治区", "拉萨市", "Lhasa", "拉萨", "Lhasa"),
    "西宁": ("青海省", "西宁市", "Xining", "西宁", "Xining"),
    "兰州": ("甘肃省", "兰州市", "Lanzhou", "兰州", "Lanzhou"),
    "银川": ("宁夏回族自治区", "银川市", "Yinchuan", "银川", "Yinchuan"),
    "呼和浩特": ("内蒙古自治区", "呼和浩特市", "Hohhot", "呼和浩特", "Hohhot"),
}

# Hand-written demo shoppers: name, tier, lang, city key, street address (detail).
SHOPPERS = [
    ("林晓雯", "gold", "zh", "杭州", "西湖区文三路478号华星时代广场3幢1202室"),
    ("陈志强", "regular", "zh", "上海", "浦东新区张杨路1650号6号楼902室"),
    ("王芳", "silver", "zh", "北京", "朝阳区望京街道阜通东大街6号院2号楼1503"),
    ("张伟", "regular", "zh", "广州", "天河区体育西路191号中石化大厦B座2108"),
    ("刘婷婷", "diamond", "zh", "深圳", "南山区科技园科苑路15号科兴科学园C栋1单元801"),
    ("李俊杰", "regular", "zh", "成都", "武侯区天府大道北段1700号环球中心E1区1806"),
    ("赵敏", "silver", "zh", "南京", "鼓楼区中山北路283号虹桥中心4单元1101"),
    ("黄磊", "regular", "zh", "武汉", "洪山区珞喻路766号光谷广场旁名都花园7栋2单元602"),
    ("周雨萱", "gold", "zh", "苏州", "工业园区星湖街328号创意产业园12幢305"),
    ("吴昊", "regular", "zh", "西安", "雁塔区科技路48号创业广场B座1605"),
    ("徐静", "silver", "zh", "长沙", "岳麓区麓谷大道658号麓谷信息港A栋907"),
    ("孙浩然", "regular", "zh", "重庆", "渝北区金开大道68号协信星光时代11栋3-2"),
    ("马丽娟", "regular", "zh", "郑州", "金水区花园路139号正弘蓝堡湾5号楼1702"),
    ("朱嘉怡", "silver", "zh", "宁波", "鄞州区天童南路588号宁波文化广场3号楼701"),
    ("胡建国", "regular", "zh", "济南", "历下区经十路11111号华润中心写字楼27层"),
    ("郭佳琪", "gold", "zh", "厦门", "思明区莲前西路2号莲富大厦11楼D室"),
    ("何欣然", "regular", "zh", "合肥", "蜀山区长江西路669号高新区管委会对面万科城6栋1503"),
    ("高远", "silver", "zh", "天津", "南开区鞍山西道与白堤路交口时代奥城C3-1-1204"),
    ("罗晓燕", "regular", "zh", "昆明", "五华区人民中路169号昆明恒隆广场附近顺城小区3栋801"),
    ("梁文博", "regular", "zh", "青岛", "市南区香港中路61号远洋大厦A座1403"),
    ("宋佳", "silver", "zh", "沈阳", "和平区南京南街1号太原街万达公寓B座2017"),
    ("郑凯", "regular", "zh", "哈尔滨", "南岗区西大直街92号省政府家属楼4单元502"),
    ("谢雨桐", "silver", "zh", "南宁", "青秀区民族大道136号华润大厦C座1209"),
    ("韩梅", "regular", "zh", "乌鲁木齐", "天山区解放北路90号天百商厦后院小区2号楼301"),
    ("次仁卓玛", "regular", "zh", "拉萨", "城关区北京中路46号阳光花园8栋1单元202"),
    ("冯天宇", "silver", "zh", "西宁", "城西区五四西路36号海湖新区佳豪公寓3号楼1102"),
    ("唐诗琪", "regular", "zh", "兰州", "城关区东岗西路638号兰州财富中心17楼"),
    ("马小龙", "regular", "zh", "银川", "金凤区北京中路168号宁夏国际会议中心对面悦海新天地7号楼"),
    ("曹丽", "gold", "zh", "呼和浩特", "赛罕区敕勒川大街东方君座D座1608"),
    ("许晨阳", "silver", "zh", "杭州", "滨江区江南大道3850号创新大厦15楼"),
    ("邓雅婷", "diamond", "zh", "上海", "徐汇区漕溪北路88号圣爱大厦2003室"),
    ("彭宇航", "regular", "zh", "广州", "海珠区新港东路1068号中洲中心北塔2505"),
    ("Emily Chen", "gold", "en", "上海", "静安区南京西路1266号恒隆广场公寓2座3107"),
    ("James Wilson", "silver", "en", "北京", "朝阳区三里屯路19号院太古里西区公寓5号楼1201"),
    ("Sophie Martin", "regular", "en", "深圳", "福田区福华三路88号财富大厦25楼B"),
    ("Daniel Park", "diamond", "en", "杭州", "上城区钱江路1366号华润大厦A座1801"),
]

PHONE_PREFIXES = ["131", "135", "136", "137", "138", "139", "150", "152", "156", "158", "159",
                  "176", "177", "180", "182", "183", "186", "187", "188", "189", "199"]

MEMBER_RATE = {"regular": 1.00, "silver": 0.98, "gold": 0.95, "diamond": 0.92}
MEMBER_NAME = {"silver": ("银卡会员98折", "Silver member price (2% off)"),
               "gold": ("金卡会员95折", "Gold member price (5% off)"),
               "diamond": ("钻石会员92折", "Diamond member price (8% off)")}
# (kind, minimum spend, amount off)
COUPONS = [("store", 99, 10), ("store", 199, 20), ("store", 299, 30), ("store", 59, 5),
           ("platform", 300, 30), ("platform", 200, 15), ("platform", 500, 50)]

COURIER_NAMES = ["王师傅", "李师傅", "张师傅", "刘师傅", "陈师傅", "杨师傅", "赵师傅", "周师傅"]
COURIER_EN = {"王师傅": "Mr Wang", "李师傅": "Mr Li", "张师傅": "Mr Zhang", "刘师傅": "Mr Liu",
              "陈师傅": "Mr Chen", "杨师傅": "Mr Yang", "赵师傅": "Mr Zhao", "周师傅": "Mr Zhou"}

INSURE_RATE = 0.07             # share of non-VIP orders that buy shipping insurance
STATUS_COUNTS = {"pending_payment": 12, "paid": 24, "shipped": 36, "delivered": 120,
                 "cancelled": 19, "returned": 29}
RECENT_DELIVERED = 48          # delivered orders signed for within the last 7 days
RETURN_MIX = {"refunded": 19, "received": 4, "in_transit": 6}

APPAREL_TEXTILE = {"women", "men", "kids", "bedding", "bath-towels"}
FRAGILE = {"kitchen-dining"}   # broken glass/ceramics are refunded without a return: never "damaged" here

NO_REASON = [("尺码不合适", "Wrong size for me"), ("颜色和想象的不一样", "Colour not as expected"),
             ("不想要了（七天无理由）", "Changed my mind (7-day no-reason)"),
             ("买多了", "Bought too many"), ("款式不适合自己", "Style does not suit me")]
QUALITY = [("衣服开线", "Seam coming apart"), ("洗后严重褪色", "Badly faded after washing"),
           ("拉链坏了", "Faulty zip"), ("面料有破洞", "Hole in the fabric")]
WRONG = [("发错颜色", "Wrong colour sent"), ("发错尺码", "Wrong size sent")]
DAMAGED = [("收到时商品破损", "Item arrived damaged")]

CANCEL_UNPAID_AUTO = ("超时未付款，系统自动取消", "Not paid within 30 minutes; cancelled automatically")
CANCEL_UNPAID_BUYER = [("买家取消：不想买了", "Cancelled by buyer: no longer wanted"),
                       ("买家取消：重新选择商品", "Cancelled by buyer: choosing other items")]
CANCEL_PAID_BUYER = [("买家取消：拍错尺码", "Cancelled by buyer: ordered the wrong size"),
                     ("买家取消：地址填错，重新下单", "Cancelled by buyer: wrong address, reordered"),
                     ("买家取消：不想要了", "Cancelled by buyer: no longer wanted"),
                     ("买家取消：重复下单", "Cancelled by buyer: duplicate order")]

PAYMENT_METHODS = ["alipay", "wechat", "huabei", "huabei_installments", "credit_card", "debit_card"]
PAYMENT_WEIGHTS = [40, 25, 12, 6, 9, 8]


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat(timespec="seconds")


def money(x: float) -> float:
    return round(x + 1e-9, 2)


def at_daytime(rng: random.Random, day: datetime, lo: int = 9, hi: int = 20) -> datetime:
    return day.replace(hour=rng.randint(lo, hi), minute=rng.randint(0, 59), second=rng.randint(0, 59))


class Gen:
    def __init__(self) -> None:
        self.rng = random.Random(20261125)
        self.products = {p["sku"]: p for p in tomllib.loads(PRODUCTS.read_text("utf-8"))["product"]}
        self.used_order_nos: set[str] = set()
        self.used_numbers: set[str] = set()

    # ------------------------------------------------------------------ shoppers
    def shoppers(self) -> list[dict]:
        out = []
        phones = set()
        for i, (name, tier, lang, city, detail) in enumerate(SHOPPERS):
            while True:
                phone = self.rng.choice(PHONE_PREFIXES) + "".join(self.rng.choice("0123456789") for _ in range(8))
                if phone not in phones:
                    phones.add(phone)
                    break
            province, city_zh, _, _, _ = CITIES[city]
            out.append({
                "id": f"S{1001 + i}", "name": name, "phone": phone, "tier": tier,
                "vip": tier in ("gold", "diamond"), "city": city_zh, "lang": lang,
                "_address": {"name": name, "phone": phone, "province": province,
                             "city": city_zh, "detail": detail},
                "_hub": CITIES[city][3:5],
            })
        return out

    # ------------------------------------------------------------------ numbers
    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def order_no(self, created: datetime) -> str:
        while True:
            no = created.strftime("%y%m%d") + self.digits(12)
            if no not in self.used_order_nos:
                self.used_order_nos.add(no)
                return no

    def unique(self, make) -> str:
        while True:
            x = make()
            if x not in self.used_numbers:
                self.used_numbers.add(x)
                return x

    # ------------------------------------------------------------------ items and money
    def items(self, returnable_only: bool) -> list[dict]:
        skus = sorted(s for s, p in self.products.items() if p["returnable"] or not returnable_only)
        n = self.rng.choices([1, 2, 3], weights=[55, 32, 13])[0]
        chosen = self.rng.sample(skus, n)
        items = []
        for sku in chosen:
            p = self.products[sku]
            variants = [v for v in p["variants"] if v["stock"] > 0] or p["variants"]
            v = self.rng.choice(variants)
            qty = 1
            if p["price"] < 60:
                qty = self.rng.choices([1, 2, 3], weights=[60, 30, 10])[0]
            elif p["price"] < 150:
                qty = self.rng.choices([1, 2], weights=[85, 15])[0]
            items.append({"sku": sku, "color": v["color"], "size": v["size"], "qty": qty,
                          "unit_price": float(p["price"])})
        items.sort(key=lambda it: (it["sku"], it["color"], it["size"]))
        return items

    def pricing(self, shopper: dict, items: list[dict], remote: bool, insured: bool) -> dict:
        subtotal = money(sum(it["unit_price"] * it["qty"] for it in items))
        lines = []
        member = 0.0
        if shopper["tier"] != "regular":
            member = money(subtotal * (1 - MEMBER_RATE[shopper["tier"]]))
            zh, en = MEMBER_NAME[shopper["tier"]]
            lines.append({"type": "member", "zh": zh, "en": en, "amount": member})
        after_member = subtotal - member
        for kind in ("store", "platform"):
            if self.rng.random() < (0.45 if kind == "store" else 0.25):
                ok = [c for c in COUPONS if c[0] == kind and after_member >= c[1]]
                if ok:
                    _, minimum, off = self.rng.choice(ok)
                    if kind == "store":
                        zh, en = f"店铺券 满{minimum}减{off}", f"Store coupon: {off} off {minimum}"
                    else:
                        zh, en = f"平台券 满{minimum}减{off}", f"Platform coupon: {off} off {minimum}"
                    lines.append({"type": f"{kind}_coupon", "zh": zh, "en": en, "amount": float(off)})
        discount = money(sum(d["amount"] for d in lines))
        if remote:
            shipping = 20.0
        else:
            shipping = 0.0 if subtotal - discount >= 99 else 8.0
        insurance_fee = 0.0
        if insured and not shopper["vip"]:
            insurance_fee = self.rng.choice([0.8, 1.0, 1.5, 2.0, 2.5, 3.0])
        total = money(subtotal - discount + shipping + insurance_fee)
        return {"subtotal": subtotal, "discount": discount, "discount_detail": lines,
                "shipping_fee": shipping, "insurance_fee": insurance_fee, "total": total}

    # ------------------------------------------------------------------ time line
    def ship_time(self, paid: datetime) -> datetime:
        """Paid before 16:00: same day; otherwise within 48 h; around Double 11 up to 72 h."""
        rng = self.rng
        double11 = datetime(2026, 11, 10, tzinfo=TZ) <= paid < datetime(2026, 11, 13, tzinfo=TZ)
        if double11:
            t = paid + timedelta(hours=rng.randint(20, 64), minutes=rng.randint(0, 59))
            return t.replace(hour=max(t.hour, 9))
        if paid.hour < 16:
            t = paid.replace(hour=rng.randint(max(paid.hour + 1, 16), 21), minute=rng.randint(0, 59))
            return max(t, paid + timedelta(minutes=40))
        nxt = (paid + timedelta(days=1)).replace(hour=rng.randint(10, 19), minute=rng.randint(0, 59))
        return nxt

    def transit_days(self, province: str) -> int:
        if province in NEAR:
            return self.rng.randint(1, 2)
        if province in REMOTE:
            return self.rng.randint(5, 8)
        return self.rng.randint(2, 4)

    def timeline(self, created: datetime, province: str) -> dict:
        rng = self.rng
        paid = created + timedelta(minutes=rng.randint(0, 12), seconds=rng.randint(5, 59))
        shipped = self.ship_time(paid)
        days = self.transit_days(province)
        delivered = at_daytime(rng, shipped + timedelta(days=days), 9, 20)
        return {"created": created, "paid": paid, "shipped": shipped, "delivered": delivered}

    def random_created(self, lo: datetime, hi: datetime) -> datetime:
        span = int((hi - lo).total_seconds())
        while True:
            t = lo + timedelta(seconds=self.rng.randint(0, span))
            # people shop mostly between 08:00 and 24:00
            if t.hour < 8:
                t = t.replace(hour=self.rng.randint(8, 23))
            if lo <= t <= hi:
                return t

    # ------------------------------------------------------------------ tracking
    def tracking(self, shopper: dict, courier: str, tl: dict, until: datetime) -> list[dict]:
        rng = self.rng
        hub_zh, hub_en = shopper["_hub"]
        addr = shopper["_address"]
        cname = "中通" if courier == "ZTO" else "顺丰"
        cen = "ZTO" if courier == "ZTO" else "SF Express"
        shipped, delivered = tl["shipped"], tl["delivered"]
        total = (delivered - shipped).total_seconds()
        frac = lambda lo, hi: shipped + timedelta(seconds=int(total * rng.uniform(lo, hi)))
        ev = [(shipped, f"【杭州仓】{cname}快递员已揽收", f"Picked up by {cen} at the Hangzhou warehouse")]
        if hub_zh == "杭州萧山":
            ev.append((frac(0.08, 0.2), "【杭州转运中心】已分拣，发往派送网点",
                       "Sorted at the Hangzhou sorting centre, on the way to the delivery station"))
            station = frac(0.6, 0.75)
        else:
            ev.append((frac(0.05, 0.12), "运输中，已从【杭州转运中心】发出",
                       "In transit: left the Hangzhou sorting centre"))
            ev.append((frac(0.45, 0.6), f"运输中，已到达【{hub_zh}转运中心】",
                       f"In transit: arrived at the {hub_en} sorting centre"))
            station = frac(0.7, 0.8)
        city_en = hub_en.split()[0]
        ev.append((station, f"已到达【{addr['city']}派送网点】", f"Arrived at the {city_en} delivery station"))
        runner = rng.choice(COURIER_NAMES)
        phone = "1" + rng.choice("3589") + self.digits(1) + "****" + self.digits(4)
        out_for = delivered - timedelta(hours=rng.randint(1, 4), minutes=rng.randint(0, 59))
        out_for = max(out_for, station + timedelta(minutes=20))
        assert out_for < delivered
        ev.append((out_for, f"派送中，快递员{runner}（{phone}）正在为您派件",
                   f"Out for delivery with courier {COURIER_EN[runner]} ({phone})"))
        end = rng.choices(["self", "locker", "station"], weights=[50, 30, 20])[0]
        if end == "self":
            ev.append((delivered, "已签收，签收人：本人", "Delivered: signed for by the recipient"))
        elif end == "locker":
            ev.append((delivered, "已放入快递柜，请凭取件码取件，已签收", "Delivered: placed in a parcel locker, collect with the pick-up code"))
        else:
            ev.append((delivered, "已由菜鸟驿站代收，请及时取件，已签收", "Delivered: left at the Cainiao pick-up station, please collect"))
        assert all(a[0] < b[0] for a, b in zip(ev, ev[1:])), ev
        return [{"time": iso(t), "zh": zh, "en": en} for t, zh, en in ev if t <= until]

    # ------------------------------------------------------------------ one order
    def base(self, shopper: dict, created: datetime, status: str, items: list[dict] | None = None) -> dict:
        addr = shopper["_address"]
        remote = addr["province"] in REMOTE
        insured = shopper["vip"] or self.rng.random() < INSURE_RATE
        if items is None:
            items = self.items(returnable_only=False)
        price = self.pricing(shopper, items, remote, insured)
        courier = "SF" if shopper["vip"] else "ZTO"
        total = price["total"]
        weights = list(PAYMENT_WEIGHTS)
        if total < 100:
            weights[PAYMENT_METHODS.index("huabei_installments")] = 0
        method = self.rng.choices(PAYMENT_METHODS, weights=weights)[0]
        order = {
            "order_no": self.order_no(created), "shopper_id": shopper["id"], "created_at": iso(created),
            "status": status, "items": items, **price, "payment_method": method,
            "shipping_insurance": insured, "address": dict(addr), "courier": courier,
            "tracking_no": None, "paid_at": None, "shipped_at": None, "delivered_at": None,
            "cancelled_at": None, "cancel_reason": None, "tracking": [], "return": None,
        }
        return order

    def tracking_no(self, courier: str) -> str:
        if courier == "SF":
            return self.unique(lambda: "SF" + self.digits(13))
        return self.unique(lambda: "7" + self.digits(14))

    def make(self, shopper: dict, status: str, sub: str | None) -> dict:
        rng = self.rng
        province = shopper["_address"]["province"]
        if status == "pending_payment":
            created = NOW - timedelta(minutes=rng.randint(1, 29), seconds=rng.randint(0, 59))
            o = self.base(shopper, created, status)
            o["payment_method"] = None
            return o
        if status == "paid":
            while True:
                created = self.random_created(datetime(2026, 11, 23, 16, 5, tzinfo=TZ), NOW - timedelta(minutes=40))
                tl = self.timeline(created, province)
                if tl["paid"] < NOW - timedelta(minutes=10) and self.ship_time_would_be_future(tl["paid"]):
                    break
            o = self.base(shopper, created, status)
            o["paid_at"] = iso(tl["paid"])
            return o
        if status == "cancelled":
            created = self.random_created(START, NOW - timedelta(hours=2))
            o = self.base(shopper, created, status)
            if sub == "auto":
                o["cancelled_at"] = iso(created + timedelta(minutes=30))
                o["cancel_reason"] = dict(zip(("zh", "en"), CANCEL_UNPAID_AUTO))
                o["payment_method"] = None
            elif sub == "unpaid_buyer":
                o["cancelled_at"] = iso(created + timedelta(minutes=rng.randint(2, 25), seconds=rng.randint(0, 59)))
                o["cancel_reason"] = dict(zip(("zh", "en"), rng.choice(CANCEL_UNPAID_BUYER)))
                o["payment_method"] = None
            else:
                tl = self.timeline(created, province)
                gap = (tl["shipped"] - tl["paid"]).total_seconds()
                cancelled = tl["paid"] + timedelta(seconds=int(rng.uniform(0.1, 0.8) * gap))
                cancelled = min(cancelled, NOW - timedelta(minutes=5))
                o["paid_at"] = iso(tl["paid"])
                o["cancelled_at"] = iso(cancelled)
                o["cancel_reason"] = dict(zip(("zh", "en"), rng.choice(CANCEL_PAID_BUYER)))
            return o
        if status == "shipped":
            while True:
                created = self.random_created(datetime(2026, 11, 16, tzinfo=TZ), NOW - timedelta(hours=14))
                tl = self.timeline(created, province)
                if tl["shipped"] < NOW - timedelta(hours=1) and tl["delivered"] > NOW:
                    break
            o = self.base(shopper, created, status)
            self.fill_shipping(o, shopper, tl, NOW)
            # a shipped order is never signed for yet
            assert not o["tracking"][-1]["zh"].startswith("已签收") and "签收" not in o["tracking"][-1]["zh"]
            return o
        if status == "delivered":
            while True:
                if sub == "recent":
                    created = self.random_created(datetime(2026, 11, 6, tzinfo=TZ), NOW - timedelta(days=1))
                else:
                    created = self.random_created(START, datetime(2026, 11, 16, tzinfo=TZ))
                tl = self.timeline(created, province)
                ok = tl["delivered"] < NOW - timedelta(minutes=30)
                recent = tl["delivered"] >= NOW - timedelta(days=7)
                if ok and recent == (sub == "recent"):
                    break
            o = self.base(shopper, created, status)
            self.fill_shipping(o, shopper, tl, NOW)
            o["delivered_at"] = iso(tl["delivered"])
            return o
        if status == "returned":
            return self.make_returned(shopper, sub)
        raise ValueError(status)

    def ship_time_would_be_future(self, paid: datetime) -> bool:
        """True when, by the shipping rule, the order is still waiting to ship at NOW."""
        if paid.hour < 16:
            return paid.date() == NOW.date()
        return paid + timedelta(hours=16) > NOW or paid.date() == (NOW - timedelta(days=1)).date()

    def fill_shipping(self, o: dict, shopper: dict, tl: dict, until: datetime) -> None:
        o["paid_at"] = iso(tl["paid"])
        o["shipped_at"] = iso(tl["shipped"])
        o["tracking_no"] = self.tracking_no(o["courier"])
        o["tracking"] = self.tracking(shopper, o["courier"], tl, until)

    def make_returned(self, shopper: dict, want: str) -> dict:
        """A delivered order sent back. Only returnable products, so no item here is ever
        excluded from the 7-day no-reason return."""
        rng = self.rng
        province = shopper["_address"]["province"]
        if province in REMOTE:
            back_days = (5, 8)
        elif province in NEAR:
            back_days = (1, 2)
        else:
            back_days = (2, 4)
        items = self.items(returnable_only=True)
        cats = {self.products[it["sku"]]["category"] for it in items}
        kinds, weights = ["no_reason", "wrong_item"], [62, 12]
        if cats <= APPAREL_TEXTILE:      # 30-day quality return: apparel and home textiles
            kinds.append("quality"); weights.append(18)
        if not cats & FRAGILE:           # broken glass/ceramics are refunded without a return
            kinds.append("damaged"); weights.append(8)
        kind = rng.choices(kinds, weights=weights)[0]
        while True:
            if want == "refunded":
                created = self.random_created(START, datetime(2026, 11, 8, tzinfo=TZ))
            else:
                created = self.random_created(datetime(2026, 10, 25, tzinfo=TZ), NOW - timedelta(days=3))
            tl = self.timeline(created, province)
            if kind == "no_reason":      # within 7 days of delivery
                requested = tl["delivered"] + timedelta(hours=rng.randint(3, 160), minutes=rng.randint(0, 59))
            elif kind == "quality":      # within 30 days of delivery
                requested = tl["delivered"] + timedelta(hours=rng.randint(24, 28 * 24), minutes=rng.randint(0, 59))
            else:                        # wrong or damaged: reported within 48 hours
                requested = tl["delivered"] + timedelta(hours=rng.randint(1, 40), minutes=rng.randint(0, 59))
            sent_back = requested + timedelta(hours=rng.randint(3, 40))
            received = at_daytime(rng, sent_back + timedelta(days=rng.randint(*back_days)), 9, 18)
            received = max(received, sent_back + timedelta(hours=12))
            # checked within 48 h of receipt; the refund is issued right after the check
            refund = received + timedelta(hours=rng.randint(2, 40), minutes=rng.randint(0, 59))
            if sent_back >= NOW - timedelta(hours=1):
                continue
            status = "refunded" if refund <= NOW else ("received" if received <= NOW else "in_transit")
            if status == want:
                break
        reason = rng.choice({"no_reason": NO_REASON, "quality": QUALITY,
                             "wrong_item": WRONG, "damaged": DAMAGED}[kind])
        o = self.base(shopper, created, "returned", items)
        self.fill_shipping(o, shopper, tl, NOW)
        o["delivered_at"] = iso(tl["delivered"])
        o["return"] = {
            "return_id": self.unique(lambda: "R" + self.digits(10)),
            "type": kind,
            "requested_at": iso(requested),
            "reason": {"zh": reason[0], "en": reason[1]},
            "status": status,
            "refund_amount": money(o["subtotal"] - o["discount"]),
            # the time the refund was issued, after the warehouse check; the money then takes
            # the payment method's own time to arrive (e.g. credit card 3-7 working days)
            "refunded_at": iso(refund) if status == "refunded" else None,
        }
        return o

    # ------------------------------------------------------------------ all orders
    def run(self) -> tuple[list[dict], list[dict]]:
        rng = self.rng
        shoppers = self.shoppers()
        by_id = {s["id"]: s for s in shoppers}
        total = sum(STATUS_COUNTS.values())
        counts = {s["id"]: 3 for s in shoppers}
        weights = [{"regular": 2, "silver": 3, "gold": 4, "diamond": 5}[s["tier"]] for s in shoppers]
        for sid in rng.choices([s["id"] for s in shoppers], weights=weights, k=total - 3 * len(shoppers)):
            counts[sid] += 1
        pending = rng.sample(sorted(counts), STATUS_COUNTS["pending_payment"])
        for sid in pending:
            counts[sid] -= 1
        slots = [sid for sid in sorted(counts) for _ in range(counts[sid])]
        rng.shuffle(slots)

        jobs: list[tuple[str, str | None]] = []
        jobs += [("paid", None)] * STATUS_COUNTS["paid"]
        jobs += [("shipped", None)] * STATUS_COUNTS["shipped"]
        jobs += [("delivered", "recent")] * RECENT_DELIVERED
        jobs += [("delivered", "old")] * (STATUS_COUNTS["delivered"] - RECENT_DELIVERED)
        cancel_subs = ["auto"] * 8 + ["unpaid_buyer"] * 4 + ["paid_buyer"] * 7
        assert len(cancel_subs) == STATUS_COUNTS["cancelled"]
        jobs += [("cancelled", c) for c in cancel_subs]
        for k, n in RETURN_MIX.items():
            jobs += [("returned", k)] * n
        assert len(jobs) == len(slots)

        orders = [self.make(by_id[sid], "pending_payment", None) for sid in pending]
        for sid, (status, sub) in zip(slots, jobs):
            orders.append(self.make(by_id[sid], status, sub))
        orders.sort(key=lambda o: (o["created_at"], o["order_no"]))
        for s in shoppers:
            del s["_address"], s["_hub"]
        return shoppers, orders


def main() -> None:
    shoppers, orders = Gen().run()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, data in (("shoppers.json", shoppers), ("orders.json", orders)):
        text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
        (OUT_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(shoppers)} shoppers and {len(orders)} orders to {OUT_DIR}")


if __name__ == "__main__":
    main()
