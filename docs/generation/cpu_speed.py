"""CPU seconds per training step (forward + backward + AdamW on the recipe's v-loss) at 1 thread, measured with
process_time so that a shared, loaded machine inflates it less than wall time (median of 6 steps after 2).

    python docs/generation/cpu_speed.py 64 d_emov2_fm dit_fm 'dit_fm:{"depth": 6}'
"""
import json
import sys
import time

import torch

from emov2.generation import create_generator
from emov2.generation.diffusion import GaussianDiffusion, training_losses

torch.set_num_threads(1)
batch = int(sys.argv[1])
diffusion = GaussianDiffusion(schedule="cosine", prediction="v", learn_sigma=False)
for spec in sys.argv[2:]:
    name, _, overrides = spec.partition(":")
    model = create_generator(name, in_channels=1, num_classes=10, learn_sigma=False,
                             **(json.loads(overrides) if overrides else {}))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x, y = torch.randn(batch, 1, 32, 32), torch.randint(0, 10, (batch,))
    cpu, wall = [], []
    for _ in range(8):
        t = torch.randint(0, 1000, (batch,))
        noise = torch.randn_like(x)
        x_t = diffusion.q_sample(x, t, noise)
        c0, w0 = time.process_time(), time.perf_counter()
        loss = training_losses(diffusion, model(x_t, t, y), x, x_t, t, noise)["loss"].mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    cpu, wall = sorted(cpu[2:]), sorted(wall[2:])
    print(f"{spec:40s} trainable {trainable:>9,d}  cpu {cpu[3]:.3f} s/step  wall {wall[3]:.3f} s/step "
          f"(batch {batch})", flush=True)
