#!/usr/bin/env python3
"""A gallery of small recommendation models written the way their papers' public PyTorch code writes
them, each exported with both PyTorch exporters (issue 21).

    python3 tools/onnx_fixtures/gallery.py [--out tests/onnx/gallery]

Unlike tools/onnx_fixtures/make_fixtures.py, the models take their natural PyTorch inputs, not
CAGR's (dense, indices, offsets) layout: ids as [B, fields] tensors looked up with nn.Embedding,
the facebookresearch/dlrm [tables, B] offsets, fixed-length histories, ... They show what ordinary
exported models look like to the ONNX importer.

Every model is written to OUT as
  <model>_torchscript.onnx  torch.onnx.export(dynamo=False, opset_version=17, dynamic_axes=batch)
  <model>_dynamo.onnx       torch.onnx.export(dynamo=True, dynamic_shapes=torch.export.Dim batch)
  <model>.npz               the inputs (named as the ONNX graph inputs) for a batch of 13 samples,
                            expected_torch (PyTorch eager), expected_ort_torchscript and
                            expected_ort_dynamo (onnxruntime CPU, 1 thread, on each file)
with a dynamic batch, weights inline (no external data) and debug info stripped (strip_debug_info of
recsys_models.py). The dynamo exporter writes its default opset (20 with torch 2.15). Exports trace a
batch of 4; the .npz batch (13) differs on purpose. Weights are drawn by init_weights (DLRM's MLP
initialisation, embeddings N(0, 0.3)) so that the outputs spread over the batch. Everything is
deterministic: fixed seeds, and the script re-executes itself with PYTHONHASHSEED=0 because the order
and names of a Loop's carried values in the dynamo exporter's files change with Python's string
hashing; two runs give identical bytes.
The script checks each file on onnxruntime against PyTorch (max of |ort - torch| / max(|torch|, 1e-3)
below 1e-5, as tests/onnx does), checks the graph inputs are named as the .npz inputs and each .onnx
is under 300 KB, prints a table of the ONNX ops each exporter emitted (ops inside Loop / If bodies
shown as Loop/ReduceSum, ...) with the error, and exits non-zero if any check or export fails.
`--only NAME ...` exports some models only.

Requires torch (2.15 used), onnx, onnxruntime and onnxscript (for dynamo=True).

Models (B = batch; all ids int64, all dense features float32; tables of 10-100 rows):

1. dlrm_embedding  DLRM (Naumov et al. 2019), one nn.Embedding per table, Criteo-like.
     dense [B, 13], ids [B, 26] (table t's id of sample b is ids[b, t], looked up as emb_l[t](ids[:, t]))
     bottom MLP 13-32-8, 26 tables of dim 8, interaction as facebookresearch/dlrm's interact_features:
     T = cat([x] + ly).view(B, -1, d); Z = bmm(T, T^T); Z[:, li, lj] with li/lj the strict lower
     triangle built as index tensors; top MLP (8 + 351)-32-1, sigmoid.  Output prob [B, 1].
2. dlrm_bag2d  the same DLRM with one nn.EmbeddingBag(mode="sum") per table, called as the
     facebookresearch/dlrm reference does: emb_l[t](lS_i[t], lS_o[t]).
     dense [B, 13], lS_o [26, B] (table t's bag start offsets, include_last_offset=False),
     lS_i [26, L] (every table has L = 2B ids; bags hold 1-3 ids).  Output prob [B, 1].
3. deepfm  DeepFM (Guo et al. 2017): 10 fields, nn.Embedding(rows, 8) and first-order
     nn.Embedding(rows, 1) per field; FM term 0.5 * (square of sum - sum of squares) as DeepCTR writes
     it (torch.pow(sum, 2)); deep MLP 80-32-16-1; sigmoid(bias + first order + FM + deep).
     ids [B, 10].  Output prob [B, 1].
4. wide_deep  Wide & Deep (Cheng et al. 2016): wide = nn.Linear over dense + first-order embeddings
     (nn.Embedding(rows, 1) per field); deep = concat(field embeddings of dim 8, dense) -> MLP
     (8*8 + 8)-32-16-1; sigmoid(wide + deep).  dense [B, 8], ids [B, 8].  Output prob [B, 1].
5. dcn_v2  DCN-v2 (Wang et al. 2021), parallel form: x0 = concat(dense, field embeddings of dim 4);
     two full-rank cross layers x_{l+1} = x0 * (W_l x_l + b_l) + x_l; deep MLP 45-32-16 beside them;
     concat -> nn.Linear -> sigmoid.  dense [B, 13], ids [B, 8].  Output prob [B, 1].
6. two_tower  two-tower retrieval: user tower = concat(user id embedding, mean of the history's item
     embeddings by nn.functional.embedding_bag(mode="mean") over the item table) -> MLP 16-32-8; item
     tower = item id embedding -> MLP 8-32-8; both L2-normalised (nn.functional.normalize); score =
     the dot product.  user_id [B], hist_ids [B, 5], item_id [B].  Output score [B].
7. din  DIN (Zhou et al. 2018): target item id [B] and behaviour history [B, 8] (0 = padding) looked
     up in one item table (padding_idx=0); attention MLP (sigmoid hidden units, as DIN's activation
     unit) over concat(q, k, q - k, q * k); the raw scores (no softmax) masked with
     torch.where(hist_ids != 0, score, 0) weight the history embeddings' sum; concat(target, pooled,
     dense) -> MLP 20-32-16-1 -> sigmoid.  target_id [B], hist_ids [B, 8], dense [B, 4].
     Output prob [B, 1].
8. bag_pooling  nn.EmbeddingBag beyond sum: three tables pooled by mode="max" fed as the DLRM
     reference feeds them, but with include_last_offset=True (lS_o [3, B + 1] 2-D offsets, each row
     ending with L; some bags empty), and a weighted bag (mode="sum", per_sample_weights,
     include_last_offset=True: offsets [B + 1]); concat(dense, pooled) -> MLP 36-16-1 -> sigmoid.
     dense [B, 4], lS_o [3, B + 1], lS_i [3, L], w_ids [W], w_offsets [B + 1], w_weights [W].
     Output prob [B, 1].
9. bag_padding  padding_idx: a 0-padded history [B, 6] pooled by nn.EmbeddingBag(mode="mean",
     padding_idx=0) and, over the same table, F.embedding_bag(mode="max", padding_idx=0); two tables
     with padding rows 0 and 3 fed as the DLRM reference feeds them (lS_o [2, B], lS_i [2, L],
     mode="sum"); concat -> MLP 32-16-1 -> sigmoid.  Some histories and bags hold padding only.
     hist_ids [B, 6], lS_o [2, B], lS_i [2, L].  Output prob [B, 1]. Exported by the dynamo exporter
     only: the TorchScript exporter refuses padding_idx ("Unsupported: ONNX export of operator
     embedding_bag with padding_idx").
10. dlrm_weighted  dlrm_bag2d whose categorical features carry weights (multi-hot ids with a weight
     each, e.g. counts or tf-idf): emb_l[t](lS_i[t], lS_o[t], per_sample_weights=lS_w[t]).
     dense [B, 13], lS_o [26, B], lS_i [26, L], lS_w [26, L] float32 in 0..2.  Output prob [B, 1].
11. autoint  AutoInt (Song et al. 2019): the 10 fields' embeddings (dim 8) through a two-head
     nn.MultiheadAttention (batch_first) with a residual linear, ReLU, flattened -> linear -> sigmoid.
     ids [B, 10].  Output prob [B, 1].
12. xdeepfm  xDeepFM's compressed interaction network as its implementations write it: the outer
     product of x0 and the previous layer by torch.einsum("bhd,bmd->bhmd"), reshaped and through a
     Conv1d(kernel 1) per layer (2 layers of 6 maps), each summed over the embedding dim; plus a deep
     MLP; sigmoid.  ids [B, 10].  Output prob [B, 1].
13. fibinet  FiBiNET: SENET field reweighting (mean over the dim, 10-3-10 MLP with ReLU, the fields
     rescaled) and the bilinear interaction W(v_i) * v_j over the 45 field pairs (triu_indices),
     flattened -> MLP 360-16-1 -> sigmoid.  ids [B, 10].  Output prob [B, 1].
14. dlrm_v2  MLPerf's DLRM-v2 (DCNv2) as the MLPerf reference's torchrec DLRM_DCN computes it, in
     plain PyTorch: 26 multi-hot tables pooled by nn.EmbeddingBag(mode="sum") over fixed-size bags
     (MLPerf's multi-hot sizes capped at 5: one [B, 74] ids tensor, table t's bag ids[:, s_t:e_t]),
     bottom MLP 13-32-8, torchrec's LowRankCrossNet over the 27 x 8 = 216-wide concat
     (x_{l+1} = x0 * (W_l(V_l x_l) + b_l) + x_l, V_l 216 -> 8 without bias, 3 layers), top MLP
     216-32-16-1, sigmoid.  dense [B, 13], ids [B, 74].  Output prob [B, 1].
"""
import argparse
import collections
import os
import sys
import warnings

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recsys_models as R  # noqa: E402

BATCH = 13          # the .npz batch
EXPORT_BATCH = 4    # the batch the exporters trace with
MAX_ONNX_BYTES = 300 * 1024
TOLERANCE = 1e-5

# Criteo Kaggle's 26 table sizes brought into 10..100 rows to keep the files small.
CRITEO_ROWS = [max(10, min(r, 100)) for r in R.CRITEO_KAGGLE_ROWS]
FIELD_ROWS = [37, 12, 100, 64, 18, 25, 90, 10, 45, 71]   # 10 fields (DeepFM); the first 8 elsewhere
BAG_ROWS = [37, 12, 50]    # bag_pooling's max-pooled tables; bag_padding's first two
BAG_PADDING = [0, 3]       # bag_padding's padding rows of those two
# MLPerf DLRM-v2's multi-hot sizes per table (214 ids a sample); the gallery caps them at 5 (74 ids).
MLPERF_MULTI_HOT = [3, 2, 1, 2, 6, 1, 1, 1, 1, 7, 3, 8, 1, 6, 9, 5, 1, 1, 1, 12, 100, 27, 10, 3, 1, 1]
DLRM_V2_BAGS = [min(n, 5) for n in MLPERF_MULTI_HOT]


def mlp(sizes, last=None, act=nn.ReLU):
    """nn.Sequential of Linear + act, the last layer followed by `last` (a module class) if given."""
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(act())
        elif last is not None:
            layers.append(last())
    return nn.Sequential(*layers)


def init_weights(model, embedding_std=0.3, first_order_std=0.1):
    """Weights that make the outputs spread over the batch (PyTorch's default inits leave these
    untrained models' outputs nearly constant, which tests little): every nn.Linear drawn as
    facebookresearch/dlrm's create_mlp draws it (W ~ N(0, sqrt(2 / (in + out))), b ~ N(0, sqrt(1 / out))),
    embedding tables N(0, embedding_std) (width-1 first-order tables N(0, first_order_std)), a
    padding_idx row kept zero."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear):
                m.weight.normal_(0.0, np.sqrt(2.0 / (m.in_features + m.out_features)))
                if m.bias is not None:
                    m.bias.normal_(0.0, np.sqrt(1.0 / m.out_features))
            elif isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
                m.weight.normal_(0.0, embedding_std if m.weight.shape[1] > 1 else first_order_std)
                if getattr(m, "padding_idx", None) is not None:
                    m.weight[m.padding_idx].zero_()
    return model


# ---------------------------------------------------------------------------------------------------
# 1, 2: DLRM


class DlrmBase(nn.Module):
    """DLRM's bottom MLP, dot interaction and top MLP, written as facebookresearch/dlrm's
    dlrm_s_pytorch.py writes them; subclasses supply the embeddings (apply_emb)."""

    def __init__(self, n_dense, n_tables, dim, bottom, top):
        super().__init__()
        self.bot_l = mlp([n_dense] + bottom + [dim], last=nn.ReLU)
        f = n_tables + 1
        self.top_l = mlp([dim + f * (f - 1) // 2] + top + [1], last=nn.Sigmoid)

    def interact_features(self, x, ly):
        (batch_size, d) = x.shape
        T = torch.cat([x] + ly, dim=1).view((batch_size, -1, d))
        Z = torch.bmm(T, torch.transpose(T, 1, 2))
        _, ni, nj = Z.shape
        offset = 0  # arch_interaction_itself = False
        li = torch.tensor([i for i in range(ni) for j in range(i + offset)])
        lj = torch.tensor([j for i in range(nj) for j in range(i + offset)])
        Zflat = Z[:, li, lj]
        return torch.cat([x] + [Zflat], dim=1)


class DlrmEmbedding(DlrmBase):
    """One nn.Embedding per table, looked up with ids[:, t]."""

    def __init__(self, n_dense, rows, dim, bottom, top):
        super().__init__(n_dense, len(rows), dim, bottom, top)
        self.emb_l = nn.ModuleList(nn.Embedding(n, dim) for n in rows)

    def forward(self, dense, ids):
        x = self.bot_l(dense)
        ly = [e(ids[:, t]) for t, e in enumerate(self.emb_l)]
        return self.top_l(self.interact_features(x, ly))


class DlrmBag2d(DlrmBase):
    """One nn.EmbeddingBag(mode="sum") per table, fed as the reference's apply_emb feeds it:
    lS_o [T, B] offsets (no final entry), lS_i [T, L] indices."""

    def __init__(self, n_dense, rows, dim, bottom, top):
        super().__init__(n_dense, len(rows), dim, bottom, top)
        self.emb_l = nn.ModuleList(nn.EmbeddingBag(n, dim, mode="sum", sparse=True) for n in rows)

    def apply_emb(self, lS_o, lS_i, emb_l):
        ly = []
        for k, sparse_index_group_batch in enumerate(lS_i):
            sparse_offset_group_batch = lS_o[k]
            E = emb_l[k]
            V = E(sparse_index_group_batch, sparse_offset_group_batch)
            ly.append(V)
        return ly

    def forward(self, dense, lS_o, lS_i):
        x = self.bot_l(dense)
        ly = self.apply_emb(lS_o, lS_i, self.emb_l)
        return self.top_l(self.interact_features(x, ly))


class DlrmWeighted(DlrmBag2d):
    """dlrm_bag2d with per-sample weights: lS_w [T, L] beside lS_i, one weight per id."""

    def forward(self, dense, lS_o, lS_i, lS_w):
        x = self.bot_l(dense)
        ly = [E(lS_i[k], lS_o[k], per_sample_weights=lS_w[k]) for k, E in enumerate(self.emb_l)]
        return self.top_l(self.interact_features(x, ly))


# ---------------------------------------------------------------------------------------------------
# 3: DeepFM


class DeepFm(nn.Module):
    def __init__(self, rows, dim, hidden):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, dim) for n in rows)
        self.first_order = nn.ModuleList(nn.Embedding(n, 1) for n in rows)
        self.bias = nn.Parameter(torch.full((1,), 0.1))
        self.dnn = mlp([len(rows) * dim] + hidden + [1])

    def forward(self, ids):
        linear = torch.cat([e(ids[:, f]) for f, e in enumerate(self.first_order)], dim=1)
        linear_logit = torch.sum(linear, dim=1, keepdim=True)
        fm_input = torch.stack([e(ids[:, f]) for f, e in enumerate(self.embeddings)], dim=1)  # [B, F, D]
        square_of_sum = torch.pow(torch.sum(fm_input, dim=1, keepdim=True), 2)
        sum_of_square = torch.sum(fm_input * fm_input, dim=1, keepdim=True)
        cross_term = square_of_sum - sum_of_square
        fm_logit = 0.5 * torch.sum(cross_term, dim=2, keepdim=False)                          # [B, 1]
        dnn_logit = self.dnn(torch.flatten(fm_input, start_dim=1))
        return torch.sigmoid(self.bias + linear_logit + fm_logit + dnn_logit)


# ---------------------------------------------------------------------------------------------------
# 4: Wide & Deep


class WideDeep(nn.Module):
    def __init__(self, n_dense, rows, dim, hidden):
        super().__init__()
        self.wide_dense = nn.Linear(n_dense, 1)
        self.wide_sparse = nn.ModuleList(nn.Embedding(n, 1) for n in rows)
        self.deep_embeddings = nn.ModuleList(nn.Embedding(n, dim) for n in rows)
        self.deep = mlp([len(rows) * dim + n_dense] + hidden + [1])

    def forward(self, dense, ids):
        wide = self.wide_dense(dense) + sum(e(ids[:, f]) for f, e in enumerate(self.wide_sparse))
        deep_in = torch.cat([e(ids[:, f]) for f, e in enumerate(self.deep_embeddings)] + [dense], dim=1)
        return torch.sigmoid(wide + self.deep(deep_in))


# ---------------------------------------------------------------------------------------------------
# 5: DCN-v2


class CrossNetV2(nn.Module):
    """x_{l+1} = x0 * (W_l x_l + b_l) + x_l, full-rank W_l."""

    def __init__(self, width, layers):
        super().__init__()
        self.cross = nn.ModuleList(nn.Linear(width, width) for _ in range(layers))

    def forward(self, x0):
        x = x0
        for layer in self.cross:
            x = x0 * layer(x) + x
        return x


class DcnV2(nn.Module):
    def __init__(self, n_dense, rows, dim, cross_layers, hidden):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, dim) for n in rows)
        width = n_dense + len(rows) * dim
        self.cross = CrossNetV2(width, cross_layers)
        self.deep = mlp([width] + hidden, last=nn.ReLU)
        self.out = nn.Linear(width + hidden[-1], 1)

    def forward(self, dense, ids):
        x0 = torch.cat([dense] + [e(ids[:, f]) for f, e in enumerate(self.embeddings)], dim=1)
        return torch.sigmoid(self.out(torch.cat([self.cross(x0), self.deep(x0)], dim=1)))


# ---------------------------------------------------------------------------------------------------
# 6: two-tower retrieval


class TwoTower(nn.Module):
    def __init__(self, n_users, n_items, dim, hidden, out_dim):
        super().__init__()
        self.user_embedding = nn.Embedding(n_users, dim)
        self.item_embedding = nn.Embedding(n_items, dim)
        self.user_tower = mlp([2 * dim, hidden, out_dim])
        self.item_tower = mlp([dim, hidden, out_dim])

    def forward(self, user_id, hist_ids, item_id):
        history = nn.functional.embedding_bag(hist_ids, self.item_embedding.weight, mode="mean")  # [B, D]
        u = self.user_tower(torch.cat([self.user_embedding(user_id), history], dim=1))
        v = self.item_tower(self.item_embedding(item_id))
        u = nn.functional.normalize(u, p=2, dim=1)
        v = nn.functional.normalize(v, p=2, dim=1)
        return (u * v).sum(dim=1)


# ---------------------------------------------------------------------------------------------------
# 7: DIN


class AttentionUnit(nn.Module):
    """DIN's local activation unit: MLP over concat(q, k, q - k, q * k) -> one score per key."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.dnn = mlp([4 * dim, hidden, 1], act=nn.Sigmoid)

    def forward(self, query, keys):
        queries = query.unsqueeze(1).expand(-1, keys.size(1), -1)                 # [B, S, D]
        att_in = torch.cat([queries, keys, queries - keys, queries * keys], dim=-1)
        return self.dnn(att_in).squeeze(-1)                                        # [B, S]


class Din(nn.Module):
    def __init__(self, n_items, dim, n_dense, att_hidden, hidden):
        super().__init__()
        self.item_embedding = nn.Embedding(n_items, dim, padding_idx=0)
        self.attention = AttentionUnit(dim, att_hidden)
        self.dnn = mlp([2 * dim + n_dense] + hidden + [1])

    def forward(self, target_id, hist_ids, dense):
        query = self.item_embedding(target_id)                                     # [B, D]
        keys = self.item_embedding(hist_ids)                                       # [B, S, D]
        scores = self.attention(query, keys)                                       # [B, S]
        scores = torch.where(hist_ids != 0, scores, torch.zeros_like(scores))
        interest = torch.sum(scores.unsqueeze(-1) * keys, dim=1)                   # [B, D]
        return torch.sigmoid(self.dnn(torch.cat([query, interest, dense], dim=1)))


# ---------------------------------------------------------------------------------------------------
# 8, 9: nn.EmbeddingBag's other modes, per-sample weights and padding rows


class BagPooling(nn.Module):
    def __init__(self, n_dense, rows, dim, weighted_rows, hidden):
        super().__init__()
        self.max_bags = nn.ModuleList(nn.EmbeddingBag(n, dim, mode="max", include_last_offset=True) for n in rows)
        self.weighted = nn.EmbeddingBag(weighted_rows, dim, mode="sum", include_last_offset=True)
        self.top = mlp([n_dense + (len(rows) + 1) * dim] + hidden + [1], last=nn.Sigmoid)

    def forward(self, dense, lS_o, lS_i, w_ids, w_offsets, w_weights):
        ly = [e(lS_i[k], lS_o[k]) for k, e in enumerate(self.max_bags)]
        weighted = self.weighted(w_ids, w_offsets, per_sample_weights=w_weights)
        return self.top(torch.cat([dense] + ly + [weighted], dim=1))


class BagPadding(nn.Module):
    def __init__(self, n_items, rows, padding, dim, hidden):
        super().__init__()
        self.history = nn.EmbeddingBag(n_items, dim, mode="mean", padding_idx=0)
        self.bags = nn.ModuleList(nn.EmbeddingBag(n, dim, mode="sum", padding_idx=p) for n, p in zip(rows, padding))
        self.top = mlp([(2 + len(rows)) * dim] + hidden + [1], last=nn.Sigmoid)

    def forward(self, hist_ids, lS_o, lS_i):
        mean = self.history(hist_ids)
        peak = nn.functional.embedding_bag(hist_ids, self.history.weight, mode="max", padding_idx=0)
        ly = [e(lS_i[k], lS_o[k]) for k, e in enumerate(self.bags)]
        return self.top(torch.cat([mean, peak] + ly, dim=1))


# ---------------------------------------------------------------------------------------------------
# Inputs


# ---------------------------------------------------------------------------------------------------
# 11-13: AutoInt, xDeepFM, FiBiNET (field embeddings looked up one table per field, as DeepFm)


class FieldEmbeddings(nn.Module):
    def __init__(self, rows, dim):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in rows)

    def forward(self, ids):
        return torch.stack([e(ids[:, f]) for f, e in enumerate(self.tables)], dim=1)  # [B, F, D]


class AutoInt(nn.Module):
    def __init__(self, rows, dim, heads):
        super().__init__()
        self.embeddings = FieldEmbeddings(rows, dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.residual = nn.Linear(dim, dim, bias=False)
        self.out = nn.Linear(len(rows) * dim, 1)

    def forward(self, ids):
        e = self.embeddings(ids)
        a, _ = self.attention(e, e, e, need_weights=False)
        return torch.sigmoid(self.out(torch.relu(a + self.residual(e)).flatten(1)))


class XDeepFm(nn.Module):
    def __init__(self, rows, dim, maps, hidden):
        super().__init__()
        fields = len(rows)
        self.embeddings = FieldEmbeddings(rows, dim)
        self.cin = nn.ModuleList(nn.Conv1d(fields * m, maps, 1) for m in [fields] + [maps] * (len(hidden) - 1))
        self.dnn = mlp([fields * dim] + hidden + [1])
        self.out = nn.Linear(maps * len(self.cin), 1)

    def forward(self, ids):
        x0 = self.embeddings(ids)
        h, pooled = x0, []
        for conv in self.cin:
            z = torch.einsum("bhd,bmd->bhmd", x0, h).reshape(x0.shape[0], -1, x0.shape[2])
            h = torch.relu(conv(z))
            pooled.append(h.sum(2))
        return torch.sigmoid(self.out(torch.cat(pooled, 1)) + self.dnn(x0.flatten(1)))


class FiBiNet(nn.Module):
    def __init__(self, rows, dim, reduced, hidden):
        super().__init__()
        fields = len(rows)
        self.embeddings = FieldEmbeddings(rows, dim)
        self.senet = nn.Sequential(nn.Linear(fields, reduced), nn.ReLU(), nn.Linear(reduced, fields), nn.ReLU())
        self.bilinear = nn.Linear(dim, dim, bias=False)
        self.i, self.j = torch.triu_indices(fields, fields, 1)
        self.dnn = mlp([len(self.i) * dim] + hidden + [1])

    def forward(self, ids):
        e = self.embeddings(ids)
        v = e * self.senet(e.mean(2)).unsqueeze(2)
        p = self.bilinear(v[:, self.i]) * v[:, self.j]
        return torch.sigmoid(self.dnn(p.flatten(1)))


# ---------------------------------------------------------------------------------------------------
# 14: DLRM-v2


class LowRankCrossNet(nn.Module):
    """torchrec's LowRankCrossNet: x_{l+1} = x0 * (W_l(V_l x_l) + b_l) + x_l, V_l without bias."""

    def __init__(self, width, layers, rank):
        super().__init__()
        self.V_kernels = nn.ModuleList(nn.Linear(width, rank, bias=False) for _ in range(layers))
        self.W_kernels = nn.ModuleList(nn.Linear(rank, width) for _ in range(layers))

    def forward(self, x0):
        x = x0
        for V, W in zip(self.V_kernels, self.W_kernels):
            x = x0 * W(V(x)) + x
        return x


class DlrmV2(nn.Module):
    """MLPerf's DLRM-v2: multi-hot bags of fixed sizes (table t's ids are ids[:, start_t:end_t], a 2-D
    input that nn.EmbeddingBag pools row by row), the dense features through the bottom MLP, the
    concat of both through low-rank cross layers, then the top MLP."""

    def __init__(self, n_dense, rows, bags, dim, bottom, cross_layers, rank, top):
        super().__init__()
        self.bags = bags
        self.emb_l = nn.ModuleList(nn.EmbeddingBag(n, dim, mode="sum") for n in rows)
        self.bot_l = mlp([n_dense] + bottom + [dim], last=nn.ReLU)
        width = (len(rows) + 1) * dim
        self.crossnet = LowRankCrossNet(width, cross_layers, rank)
        self.top_l = mlp([width] + top + [1], last=nn.Sigmoid)

    def forward(self, dense, ids):
        ly, start = [], 0
        for e, n in zip(self.emb_l, self.bags):
            ly.append(e(ids[:, start:start + n]))
            start += n
        return self.top_l(self.crossnet(torch.cat([self.bot_l(dense)] + ly, dim=1)))


def multi_hot_ids(rng, rows, bags, batch):
    """[B, sum(bags)]: table t's bag of bags[t] ids, side by side."""
    return np.concatenate([rng.integers(0, n, (batch, k)) for n, k in zip(rows, bags)], axis=1).astype(np.int64)


def field_ids(rng, rows, batch):
    return np.stack([rng.integers(0, n, batch) for n in rows], axis=1).astype(np.int64)


def dense_features(rng, batch, n):
    return rng.random((batch, n), dtype=np.float32)


def bag2d_inputs(rng, rows, batch, n_dense):
    """facebookresearch/dlrm's layout: lS_o [T, B] start offsets, lS_i [T, 2B]; each table's bags
    hold 1-3 ids (start from 2 each, then move ids between random pairs of bags)."""
    offsets, indices = [], []
    for n in rows:
        lengths = np.full(batch, 2, dtype=np.int64)
        for _ in range(batch // 2):
            a, b = rng.choice(batch, 2, replace=False)
            if lengths[a] > 1 and lengths[b] < 3:
                lengths[a] -= 1
                lengths[b] += 1
        offsets.append(np.concatenate([[0], np.cumsum(lengths)[:-1]]))
        indices.append(rng.integers(0, n, int(lengths.sum())))
    return {"dense": dense_features(rng, batch, n_dense), "lS_o": np.stack(offsets).astype(np.int64),
            "lS_i": np.stack(indices).astype(np.int64)}


def weighted_bag2d_inputs(rng, rows, batch, n_dense):
    inputs = bag2d_inputs(rng, rows, batch, n_dense)
    inputs["lS_w"] = (2 * rng.random(inputs["lS_i"].shape)).astype(np.float32)
    return inputs


def bag_offsets(rng, rows, batch, min_len, max_len, pad=None, include_last=False):
    """facebookresearch/dlrm's layout with bags of min_len..max_len ids: lS_o [T, B] start offsets
    ([T, B + 1] ending with L with `include_last`), lS_i [T, L] (every table the same L: the last bag
    takes what is left over). With `pad` (a row per table), about a third of the ids are that row."""
    lengths = rng.integers(min_len, max_len + 1, (len(rows), batch))
    total = int(lengths.sum(axis=1).max())
    offsets = np.concatenate([np.zeros((len(rows), 1), np.int64), np.cumsum(lengths, axis=1)[:, :-1]], axis=1)
    indices = np.stack([rng.integers(0, n, total) for n in rows])
    if pad is not None:
        for t, p in enumerate(pad):
            indices[t][rng.random(total) < 1 / 3] = p
    if include_last:
        offsets = np.concatenate([offsets, np.full((len(rows), 1), total)], axis=1)
    return offsets.astype(np.int64), indices.astype(np.int64)


def bag_pooling_inputs(rng, batch):
    lS_o, lS_i = bag_offsets(rng, BAG_ROWS, batch, 0, 3, include_last=True)
    lengths = rng.integers(0, 4, batch)
    w_offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return {"dense": dense_features(rng, batch, 4), "lS_o": lS_o, "lS_i": lS_i,
            "w_ids": rng.integers(0, 40, int(lengths.sum())).astype(np.int64), "w_offsets": w_offsets,
            "w_weights": (2 * rng.random(int(lengths.sum()))).astype(np.float32)}


def bag_padding_inputs(rng, batch):
    hist = rng.integers(1, 60, (batch, 6))
    hist[rng.random((batch, 6)) < 0.4] = 0
    hist[0] = 0  # a history of padding only
    lS_o, lS_i = bag_offsets(rng, BAG_ROWS[:2], batch, 1, 3, pad=BAG_PADDING)
    return {"hist_ids": hist.astype(np.int64), "lS_o": lS_o, "lS_i": lS_i}


def history_ids(rng, n_items, batch, length, min_len):
    """[B, length] item ids in 1..n_items-1, each row padded with zeros after 1..length ids."""
    hist = rng.integers(1, n_items, (batch, length))
    lengths = rng.integers(min_len, length + 1, batch)
    hist[np.arange(length)[None, :] >= lengths[:, None]] = 0
    return hist.astype(np.int64)


# ---------------------------------------------------------------------------------------------------
# The gallery: name -> (factory, inputs(rng, batch) -> {name: array}, output name, {input: batch axis},
# and optionally notes). An axis given as (axis, name) is a dimension of its own (an index count),
# the same for every input that names it. Notes: "exporters", those that can export the model (with
# "why" the others cannot); "ort_differs", {exporter: why onnxruntime's result on that file is not
# PyTorch's}: such a result is neither checked nor stored.

def gallery():
    def dlrm_inputs(rng, b):
        return {"dense": dense_features(rng, b, 13), "ids": field_ids(rng, CRITEO_ROWS, b)}

    def two_tower_inputs(rng, b):
        return {"user_id": rng.integers(0, 50, b).astype(np.int64),
                "hist_ids": rng.integers(0, 80, (b, 5)).astype(np.int64),
                "item_id": rng.integers(0, 80, b).astype(np.int64)}

    def din_inputs(rng, b):
        return {"target_id": rng.integers(1, 60, b).astype(np.int64), "hist_ids": history_ids(rng, 60, b, 8, 1),
                "dense": dense_features(rng, b, 4)}

    rows8 = FIELD_ROWS[:8]
    return {
        "dlrm_embedding": (lambda: DlrmEmbedding(13, CRITEO_ROWS, 8, [32], [32]), dlrm_inputs, "prob",
                           {"dense": 0, "ids": 0}),
        "dlrm_bag2d": (lambda: DlrmBag2d(13, CRITEO_ROWS, 8, [32], [32]),
                       lambda rng, b: bag2d_inputs(rng, CRITEO_ROWS, b, 13), "prob",
                       {"dense": 0, "lS_o": 1, "lS_i": 1}),
        "deepfm": (lambda: DeepFm(FIELD_ROWS, 8, [32, 16]), lambda rng, b: {"ids": field_ids(rng, FIELD_ROWS, b)},
                   "prob", {"ids": 0}),
        "wide_deep": (lambda: WideDeep(8, rows8, 8, [32, 16]),
                      lambda rng, b: {"dense": dense_features(rng, b, 8), "ids": field_ids(rng, rows8, b)},
                      "prob", {"dense": 0, "ids": 0}),
        "dcn_v2": (lambda: DcnV2(13, rows8, 4, 2, [32, 16]),
                   lambda rng, b: {"dense": dense_features(rng, b, 13), "ids": field_ids(rng, rows8, b)},
                   "prob", {"dense": 0, "ids": 0}),
        "two_tower": (lambda: TwoTower(50, 80, 8, 32, 8), two_tower_inputs, "score",
                      {"user_id": 0, "hist_ids": 0, "item_id": 0}),
        "din": (lambda: Din(60, 8, 4, 16, [32, 16]), din_inputs, "prob",
                {"target_id": 0, "hist_ids": 0, "dense": 0}),
        "bag_pooling": (lambda: BagPooling(4, BAG_ROWS, 8, 40, [16]), bag_pooling_inputs, "prob",
                        {"dense": 0, "lS_o": (1, "batch_plus_1"), "lS_i": (1, "num_indices"), "w_ids": (0, "weighted_ids"),
                         "w_offsets": (0, "batch_plus_1"), "w_weights": (0, "weighted_ids")},
                        {"ort_differs": {"torchscript": "the TorchScript export pools an empty max bag with ReduceMax"
                                                        " over no rows (onnxruntime: NaN at the output); PyTorch"
                                                        " gives zeros"}}),
        "bag_padding": (lambda: BagPadding(60, BAG_ROWS[:2], BAG_PADDING, 8, [16]), bag_padding_inputs, "prob",
                        {"hist_ids": 0, "lS_o": 1, "lS_i": (1, "num_indices")},
                        {"exporters": ("dynamo",),
                         "why": "the TorchScript exporter refuses embedding_bag with padding_idx"}),
        "dlrm_weighted": (lambda: DlrmWeighted(13, CRITEO_ROWS, 8, [32], [32]),
                          lambda rng, b: weighted_bag2d_inputs(rng, CRITEO_ROWS, b, 13), "prob",
                          {"dense": 0, "lS_o": 1, "lS_i": 1, "lS_w": (1, "num_indices")}),
        "autoint": (lambda: AutoInt(FIELD_ROWS, 8, 2), lambda rng, b: {"ids": field_ids(rng, FIELD_ROWS, b)}, "prob", {"ids": 0}),
        "xdeepfm": (lambda: XDeepFm(FIELD_ROWS, 8, 6, [16, 8]), lambda rng, b: {"ids": field_ids(rng, FIELD_ROWS, b)}, "prob",
                    {"ids": 0}),
        "fibinet": (lambda: FiBiNet(FIELD_ROWS, 8, 3, [16]), lambda rng, b: {"ids": field_ids(rng, FIELD_ROWS, b)}, "prob",
                    {"ids": 0}),
        "dlrm_v2": (lambda: DlrmV2(13, CRITEO_ROWS, DLRM_V2_BAGS, 8, [32], 3, 8, [32, 16]),
                    lambda rng, b: {"dense": dense_features(rng, b, 13), "ids": multi_hot_ids(rng, CRITEO_ROWS, DLRM_V2_BAGS, b)},
                    "prob", {"dense": 0, "ids": 0}),
    }


# ---------------------------------------------------------------------------------------------------
# Export and checks


def export(model, example, path, output, batch_axes, dynamo):
    names = list(example)
    args = tuple(torch.from_numpy(example[k]) for k in names)
    axes = {k: axis if isinstance(axis, tuple) else (axis, "batch") for k, axis in batch_axes.items()}
    if "lS_i" in axes:  # the index count: a dimension of its own
        axes["lS_i"] = (1, "num_indices")
    if dynamo:
        symbols = {}
        for axis, symbol in axes.values():
            if symbol not in symbols:
                symbols[symbol] = torch.export.Dim(symbol, min=2, max=1 << 20 if symbol == "batch" else 1 << 22)
        dims = {k: {axis: symbols[symbol]} for k, (axis, symbol) in axes.items()}
        shapes = tuple(dims.get(k) for k in names)
        torch.onnx.export(model, args, path, dynamo=True, dynamic_shapes=shapes, external_data=False,
                          input_names=names, output_names=[output], verbose=False)
    else:
        dynamic_axes = {k: {axis: symbol} for k, (axis, symbol) in axes.items()}
        dynamic_axes[output] = {0: "batch"}
        torch.onnx.export(model, args, path, dynamo=False, opset_version=17, dynamic_axes=dynamic_axes,
                          input_names=names, output_names=[output])
    m = onnx.load(path)
    R.strip_debug_info(m.graph)
    onnx.save(m, path)
    data = [os.path.join(os.path.dirname(path), f) for f in os.listdir(os.path.dirname(path))
            if f.startswith(os.path.basename(path) + ".")]
    if data:
        raise SystemExit(f"{path}: external data written ({data}); the gallery keeps weights inline")
    return onnx.load(path)


def op_histogram(graph, counts=None, prefix=""):
    """op_type -> count over the graph and its subgraphs (subgraph ops counted as 'Loop/ReduceSum')."""
    counts = collections.Counter() if counts is None else counts
    for node in graph.node:
        counts[prefix + node.op_type] += 1
        for a in node.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                op_histogram(a.g, counts, prefix + node.op_type + "/")
            for g in a.graphs:
                op_histogram(g, counts, prefix + node.op_type + "/")
    return counts


def relative_error(got, want):
    """max |got - want| / max(|want|, 1e-3): tests/onnx's measure (relative, absolute near zero)."""
    return float(np.max(np.abs(got.astype(np.float64) - want) / np.maximum(np.abs(want), 1e-3)))


def format_histogram(counts):
    top = sorted((k, v) for k, v in counts.items() if "/" not in k)
    sub = sorted((k, v) for k, v in counts.items() if "/" in k)
    text = ", ".join(f"{k} {v}" for k, v in top)
    if sub:
        text += "; in subgraphs: " + ", ".join(f"{k} {v}" for k, v in sub)
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                      "tests", "onnx", "gallery"))
    parser.add_argument("--only", nargs="*", help="export only these models")
    args = parser.parse_args()
    # The tracer's warnings about the models' own code (iterating over lS_i, torch.tensor(li)) and the
    # TorchScript exporter's deprecation notice: expected, and they drown the table.
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*advanced indexing.*")
    out = args.out
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    rows, failures, skipped = [], [], set()
    for seed, (name, (factory, make_inputs, output, batch_axes, *notes)) in enumerate(gallery().items()):
        if args.only and name not in args.only:
            continue
        notes = notes[0] if notes else {}
        torch.manual_seed(1000 + seed)
        model = init_weights(factory()).eval()
        example = make_inputs(np.random.default_rng(100 + seed), EXPORT_BATCH)
        inputs = make_inputs(np.random.default_rng(200 + seed), BATCH)
        with torch.no_grad():
            expected_torch = model(*(torch.from_numpy(v) for v in inputs.values())).numpy()
        results = {"expected_torch": expected_torch}
        for exporter, dynamo in (("torchscript", False), ("dynamo", True)):
            if exporter not in notes.get("exporters", (exporter,)):
                rows.append((name, exporter, "not exported: " + notes["why"], "-", "-", "-"))
                skipped.add(f"{name} {exporter}")
                continue
            path = os.path.join(out, f"{name}_{exporter}.onnx")
            try:
                m = export(model, example, path, output, batch_axes, dynamo)
            except Exception as e:  # an exporter that cannot export the model: reported, not faked
                msg = f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
                failures.append(f"{name} {exporter}: export failed: {msg}")
                rows.append((name, exporter, "EXPORT FAILED: " + msg, "-", "-", "-"))
                continue
            graph_inputs = [i.name for i in m.graph.input]
            if graph_inputs != list(inputs):
                failures.append(f"{name} {exporter}: graph inputs {graph_inputs} != {list(inputs)}")
            expected_ort, _ = R.run_onnxruntime(path, inputs, threads=1)
            ort_differs = notes.get("ort_differs", {}).get(exporter)
            if not ort_differs:
                results[f"expected_ort_{exporter}"] = expected_ort
            size = os.path.getsize(path)
            if expected_ort.shape != expected_torch.shape:
                err = float("inf")
            else:
                err = relative_error(expected_ort, expected_torch)
            if ort_differs:
                skipped.add(f"{name} {exporter}")
                print(f"{name} {exporter}: onnxruntime differs from PyTorch by {err:.2e}, as expected: {ort_differs}")
            elif not err < TOLERANCE:
                failures.append(f"{name} {exporter}: onnxruntime and PyTorch differ by {err:.2e} (relative)"
                                f" shapes {expected_ort.shape} vs {expected_torch.shape}")
            if size >= MAX_ONNX_BYTES:
                failures.append(f"{name} {exporter}: {size} bytes, over {MAX_ONNX_BYTES}")
            rows.append((name, exporter, format_histogram(op_histogram(m.graph)), f"{err:.2e}", size,
                         f"opset {next(o.version for o in m.opset_import if o.domain in ('', 'ai.onnx'))}"))
        np.savez(os.path.join(out, f"{name}.npz"), **inputs, **results)
        lo, hi = float(expected_torch.min()), float(expected_torch.max())
        print(f"{name}: inputs " + ", ".join(f"{k} {list(v.shape)} {v.dtype}" for k, v in inputs.items()) +
              f"; output {output} {list(expected_torch.shape)} in [{lo:.4f}, {hi:.4f}]", flush=True)

    print()
    print("| model | exporter | opset | bytes | max rel. error | ONNX ops (op_type counts) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, exporter, ops, err, size, opset in rows:
        print(f"| {name} | {exporter} | {opset} | {size} | {err} | {ops} |")
    if failures:
        print("\nFAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        sys.exit(1)
    compared = sum(1 for row in rows if row[3] not in ("-", "nan") and row[0] + " " + row[1] not in skipped)
    print(f"\nall {compared} exports compared match PyTorch to {TOLERANCE:g} relative on onnxruntime" +
          (f" (not compared: {', '.join(sorted(skipped))}; see above)" if skipped else ""))


if __name__ == "__main__":
    # The dynamo exporter's Loops (embedding bags) change the order and names of their carried values
    # with Python's string hashing: fix it so that the files come out the same byte for byte.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, PYTHONHASHSEED="0"))
    main()
